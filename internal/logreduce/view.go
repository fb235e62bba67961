package logreduce

import "unsafe"

// bytesView returns a string sharing b's memory, for map lookups and
// comparisons that do not keep the string. The caller must not keep the
// result past the next change of b.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
