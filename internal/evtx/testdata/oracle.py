# Reference reader for tests: prints each record's EventRecordID, EventID,
# Channel and named EventData values as JSON, using python-evtx (Debian
# package python3-evtx). Used only as a test oracle.
import json
import sys
from xml.etree import ElementTree as ET

import Evtx.Evtx as evtx

NS = '{http://schemas.microsoft.com/win/2004/08/events/event}'
out = []
with evtx.Evtx(sys.argv[1]) as f:
    for r in f.records():
        x = ET.fromstring(r.xml())
        s = x.find(NS + 'System')
        data = {}
        ed = x.find(NS + 'EventData')
        if ed is not None:
            for d in ed.findall(NS + 'Data'):
                if d.get('Name') and d.text:
                    data[d.get('Name')] = d.text
        out.append({'id': s.find(NS + 'EventRecordID').text, 'eid': s.find(NS + 'EventID').text,
                    'ch': s.find(NS + 'Channel').text, 'data': data})
print(json.dumps(out))
