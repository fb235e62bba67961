package store

import "strings"

// indexValue is strings.Index(s, v) for the template search (len(v) >= 2;
// appendTemplate's values have tmplMinValue bytes or more). Most of its
// searches fail, and their first byte (a digit, a common letter) occurs
// many times in a line: each occurrence is checked on the second and last
// bytes before the compare, and the search goes on with IndexByte
// (vectorized) without strings.Index's switch to brute force after a few
// false starts.
func indexValue(s, v string) int {
	n := len(v)
	if n > len(s) {
		return -1
	}
	c0, c1, cl := v[0], v[1], v[n-1]
	t := len(s) - n + 1 // candidate starts are [0, t)
	for i := 0; i < t; {
		o := strings.IndexByte(s[i:t], c0)
		if o < 0 {
			return -1
		}
		i += o
		if s[i+1] == c1 && s[i+n-1] == cl && s[i:i+n] == v {
			return i
		}
		i++
	}
	return -1
}
