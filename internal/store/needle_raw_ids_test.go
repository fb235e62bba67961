package store

import (
	"fmt"
	"testing"
)

// TestTermsOnlyInValuesWideIDs: a grouped head of more than 127
// skeletons (ids of two bytes) whose dirty skeleton comes last: its row
// is found and its joined value, which overlaps the needle, makes the
// answer no; another needle on the same block is yes.
func TestTermsOnlyInValuesWideIDs(t *testing.T) {
	const rows, skels, dirtyRow = 1600, 700, 1500
	word := func(i int) string {
		b := []byte("skeletonword")
		for j := 0; i > 0; j++ {
			b[j] = byte('a' + i%26)
			i /= 26
		}
		return string(b)
	}
	c := &refsCase{host: "h", source: "s", vals: [][]string{make([]string, rows)}}
	for i := range rows {
		c.tmpls = append(c.tmpls, fmt.Sprintf("n %s %06d x=\x01\x04", word(i%skels), i*7919%1000000))
		c.vals[0][i] = "val" + word(i%5)
	}
	// A reference joined to the word bytes before it: dirty, id 701.
	c.tmpls[dirtyRow] = "x " + needleHash[:10] + "\x01\x04"
	c.vals[0][dirtyRow] = needleHash[10:]
	ch := c.chunk(t, nil)
	if _, _, ok := groupedHeadOf(ch); !ok {
		t.Fatal("head not grouped")
	}
	var ns needleScratch
	if ok, err := ns.termsOnlyInValues(ch, c.block(), []string{needleHash}, []string{"c0"}); ok || err != nil {
		t.Errorf("needle across the dirty row's value: %v, %v; want no", ok, err)
	}
	if ok, err := ns.termsOnlyInValues(ch, c.block(), []string{"ffff0000ffff0000ffff"}, []string{"c0"}); !ok || err != nil {
		t.Errorf("other needle: %v, %v; want yes", ok, err)
	}
}
