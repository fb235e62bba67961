package evtx

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"
)

// BenchmarkReader parses every sample file from memory. MB/s counts the
// bytes of record data (chunk headers and the unused tail of each chunk
// are not counted, so the figure does not flatter sparse files); cpu-MB/s
// is the same per second of process CPU (run with GOMAXPROCS=1).
func BenchmarkReader(b *testing.B) {
	var files [][]byte
	var used int64
	records := 0
	for _, f := range devFiles(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
		for off := fileHeaderSize; off+chunkSize <= len(data); off += chunkSize {
			if bytes.Equal(data[off:off+8], chunkMagic) {
				used += int64(binary.LittleEndian.Uint32(data[off+48:]) - chunkHeader)
			}
		}
		recs, _, _ := readBytes(data)
		records += recs
	}
	b.SetBytes(used)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		for _, data := range files {
			r, err := NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				}
			}
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(used)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}
