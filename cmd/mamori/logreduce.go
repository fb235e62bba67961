package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/mamori/mamori/internal/logreduce"
)

func init() {
	register("logreduce", "group the lines of a file into signatures (templates with counts)", runLogreduce)
}

func runLogreduce(ctx context.Context, args []string) error {
	fs := newFlagSet("logreduce", "FILE|-")
	field := fs.String("field", "", "read JSON lines and group the values of this field (default: each whole line is a message)")
	perLine := fs.Bool("per-line", false, "write one JSON line per input line: {\"line\":N,\"cluster\":ID,\"template\":T}")
	asJSON := fs.Bool("json", false, "write signatures as JSON lines instead of a table")
	top := fs.Int("top", 0, "print at most this many signatures (default 0: all)")
	sim := fs.Float64("similarity", 0, "share of equal words needed to join a cluster, 0..1 (default 0: 0.5)")
	corrFile := fs.String("corrections", "", "JSON file of user corrections to apply (default: none)")
	baseline := fs.String("baseline", "", "compare FILE against this baseline file (logcompare) and print new, gone and changed signatures (default: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	opts := logreduce.Options{Similarity: *sim}
	if *corrFile != "" {
		f, err := os.Open(*corrFile)
		if err != nil {
			return fmt.Errorf("corrections: %w", err)
		}
		c, err := logreduce.LoadCorrections(f)
		f.Close()
		if err != nil {
			return err
		}
		opts.Corrections = c
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	r := logreduce.New(opts)
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	if *baseline != "" {
		// Both periods are clustered together so templates match exactly.
		if _, err := reduceFile(ctx, r, *baseline, *field, false, true); err != nil {
			return err
		}
		if _, err := reduceFile(ctx, r, fs.Arg(0), *field, false, false); err != nil {
			return err
		}
		if err := writeChanges(w, r.Compare(logreduce.CompareOptions{}), *top, *asJSON); err != nil {
			return err
		}
		return w.Flush()
	}
	clusters, err := reduceFile(ctx, r, fs.Arg(0), *field, *perLine, false)
	if err != nil {
		return err
	}
	if *perLine {
		err = writePerLine(w, r, clusters)
	} else {
		err = writeSignatures(w, r.Signatures(), *top, *asJSON)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// reduceFile adds the lines of the named file ("-" for standard input) to
// r, as baseline messages when baseline is set; with perLine it returns
// the cluster of every line.
func reduceFile(ctx context.Context, r *logreduce.Reducer, name, field string, perLine, baseline bool) ([]int32, error) {
	in := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 -- reading the files the operator names is this command's job
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	var clusters []int32
	bad := 0
	var firstErr error
	var val []byte
	n := 0
	err := eachLine(ctx, in, func(line []byte) {
		n++
		msg := line
		if field != "" {
			var err error
			val, err = logreduce.AppendJSONField(val[:0], line, field)
			if err != nil {
				bad++
				if firstErr == nil {
					firstErr = fmt.Errorf("line %d: %w", n, err)
				}
				val = append(val[:0], line...) // keep the line: bad input is data
			}
			msg = val
		}
		var ci int
		if baseline {
			ci = r.AddBaseline(string(msg))
		} else {
			ci = r.AddBytes(msg)
		}
		if perLine {
			clusters = append(clusters, int32(ci))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if bad > 0 {
		fmt.Fprintf(os.Stderr, "mamori logreduce: %s: %d lines without field %q kept whole (first: %v)\n", name, bad, field, firstErr)
	}
	return clusters, nil
}

// eachLine calls fn with every line of in, without its line ending. The
// slice is only valid during the call.
func eachLine(ctx context.Context, in io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(in, 1<<20)
	var long []byte
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			line = trimEOL(line)
			fn(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

func writePerLine(w *bufio.Writer, r *logreduce.Reducer, clusters []int32) error {
	templates := map[int32][]byte{} // cluster -> JSON of cluster and template
	for i, ci := range clusters {
		js, ok := templates[ci]
		if !ok {
			t := r.Template(int(ci))
			tj, err := json.Marshal(t)
			if err != nil {
				return err
			}
			js = append(append([]byte(`,"cluster":"`+logreduce.SignatureID(t)+`","template":`), tj...), '}', '\n')
			templates[ci] = js
		}
		w.WriteString(`{"line":`)
		w.WriteString(strconv.Itoa(i + 1))
		if _, err := w.Write(js); err != nil {
			return err
		}
	}
	return nil
}

func writeChanges(w *bufio.Writer, changes []logreduce.Change, top int, asJSON bool) error {
	if top > 0 && len(changes) > top {
		changes = changes[:top]
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, c := range changes {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "%-9s %8s %10s %10s %8s  %s\n", "KIND", "SCORE", "BASELINE", "TARGET", "DELTA", "SIGNATURE")
	for _, c := range changes {
		fmt.Fprintf(w, "%-9s %8.1f %10d %10d %7.0f%%  %s\n", c.Kind, c.Score, c.BaselineCount, c.TargetCount, c.DeltaPct, c.Display)
	}
	return nil
}

func writeSignatures(w *bufio.Writer, sigs []logreduce.Signature, top int, asJSON bool) error {
	if top > 0 && len(sigs) > top {
		sigs = sigs[:top]
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, s := range sigs {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "%10s %7s  %-16s  %s\n", "COUNT", "SHARE", "ID", "SIGNATURE")
	for _, s := range sigs {
		fmt.Fprintf(w, "%10d %6.2f%%  %-16s  %s\n", s.Count, 100*s.Share, s.ID, s.Display)
	}
	return nil
}
