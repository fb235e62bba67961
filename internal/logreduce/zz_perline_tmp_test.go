package logreduce

// TEMPORARY (lrperf): per-line output identical to `mamori logreduce --per-line`.

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestTmpPerLine(t *testing.T) {
	in, out := os.Getenv("LRPERF_IN"), os.Getenv("LRPERF_OUT")
	if in == "" {
		t.Skip("no LRPERF_IN")
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := New(Options{})
	var clusters []int32
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		clusters = append(clusters, int32(r.Add(strings.TrimSuffix(sc.Text(), "\r"))))
	}
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w := bufio.NewWriter(o)
	templates := map[int32][]byte{}
	for i, ci := range clusters {
		js, ok := templates[ci]
		if !ok {
			tp := r.Template(int(ci))
			tj, _ := json.Marshal(tp)
			js = append(append([]byte(`,"cluster":"`+SignatureID(tp)+`","template":`), tj...), '}', '\n')
			templates[ci] = js
		}
		w.WriteString(`{"line":`)
		w.WriteString(strconv.Itoa(i + 1))
		w.Write(js)
	}
	w.Flush()
}
