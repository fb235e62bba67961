// Sends one marked event with each real client library to the receivers
// started by internal/ingest/clients_test.go. Exits non-zero when a client
// reports a failure. Environment: TOKEN, ES_URL, HEC_URL, OTLP_URL,
// FLUENT_HOST, FLUENT_PORT.
import { Client } from '@elastic/elasticsearch';
import SplunkLogger from 'splunk-logging';
import fluent from 'fluent-logger';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { Resource } from '@opentelemetry/resources';

const env = process.env;
const failures = [];

async function elasticsearch() {
  const client = new Client({ node: env.ES_URL, auth: { username: 'mamori', password: env.TOKEN } });
  const info = await client.info();
  if (!info.version || !info.version.number) throw new Error('no version in GET /');
  const res = await client.bulk({ operations: [
    { index: { _index: 'npm-idx' } }, { '@timestamp': new Date().toISOString(), message: 'npm elasticsearch bulk' },
  ] });
  if (res.errors) throw new Error('bulk errors: ' + JSON.stringify(res.items));
  await client.index({ index: 'npm-idx', document: { message: 'npm elasticsearch index' } });
  await client.close();
}

function splunk() {
  return new Promise((resolve, reject) => {
    const logger = new SplunkLogger.Logger({ token: env.TOKEN, url: env.HEC_URL, maxRetries: 0 });
    logger.error = (err) => reject(err);
    logger.send({ message: 'npm splunk', metadata: { sourcetype: 'npmtest', host: 'nodehost' } }, (err, resp, body) => {
      if (err) return reject(err);
      if (resp.statusCode !== 200) return reject(new Error('HEC status ' + resp.statusCode + ' ' + JSON.stringify(body)));
      resolve();
    });
  });
}

function fluentd() {
  return new Promise((resolve, reject) => {
    const sender = fluent.createFluentSender('npm', { host: env.FLUENT_HOST, port: Number(env.FLUENT_PORT), timeout: 5.0, requireAckResponse: true, ackResponseTimeout: 5000 });
    sender.on('error', reject);
    sender.emit('label', { message: 'npm fluent', host: 'nodehost' }, (err) => {
      sender.end();
      if (err) reject(err); else resolve();
    });
  });
}

async function otlp() {
  const exporter = new OTLPLogExporter({ url: env.OTLP_URL, headers: { Authorization: 'Bearer ' + env.TOKEN } });
  const provider = new LoggerProvider({ resource: new Resource({ 'service.name': 'npm-otel', 'host.name': 'nodehost' }) });
  let exportErr = null;
  const origExport = exporter.export.bind(exporter);
  exporter.export = (logs, done) => origExport(logs, (result) => { if (result.code !== 0) exportErr = result.error || new Error('export failed'); done(result); });
  provider.addLogRecordProcessor(new SimpleLogRecordProcessor(exporter));
  provider.getLogger('npm').emit({ body: 'npm otlp', severityText: 'INFO', severityNumber: 9, attributes: { 'npm.attr': 'v' } });
  await provider.forceFlush();
  await provider.shutdown();
  if (exportErr) throw exportErr;
}

for (const [name, fn] of Object.entries({ elasticsearch, splunk, fluentd, otlp })) {
  try {
    await fn();
    console.log('ok', name);
  } catch (err) {
    failures.push(name);
    console.error('FAIL', name, err && (err.stack || err));
  }
}
process.exit(failures.length ? 1 : 0);
