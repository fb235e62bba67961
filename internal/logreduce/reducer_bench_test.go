package logreduce

import (
	"bufio"
	"os"
	"testing"
)

// benchLines reads the messages for benchmarks: the file named by
// MAMORI_LOGREDUCE_BENCH (one message per line, for example the _msg values
// of the shared benchmark set), else the Loghub dev corpus.
func benchLines(b *testing.B) []string {
	b.Helper()
	if name := os.Getenv("MAMORI_LOGREDUCE_BENCH"); name != "" {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines
	}
	var lines []string
	for _, ds := range loghubDatasets {
		rows, err := readStructured(ds.name)
		if err != nil {
			b.Skip(err)
		}
		for _, r := range rows {
			lines = append(lines, r.content)
		}
	}
	return lines
}

func BenchmarkAdd(b *testing.B) {
	lines := benchLines(b)
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.ReportAllocs()
	b.SetBytes(bytes / int64(len(lines)))
	b.ResetTimer()
	cpu0 := cpuTime(b)
	r := New(Options{})
	for i := 0; i < b.N; i++ {
		if i%len(lines) == 0 && i > 0 {
			r = New(Options{})
		}
		r.Add(lines[i%len(lines)])
	}
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "cpu-lines/s")
}

func BenchmarkMask(b *testing.B) {
	lines := benchLines(b)
	b.ReportAllocs()
	var buf []byte
	var words []string
	for i := 0; i < b.N; i++ {
		words = splitWords(words[:0], lines[i%len(lines)])
		buf = buf[:0]
		for _, w := range words {
			buf = appendMaskedWord(buf, w)
		}
	}
}
