package sigma

import "strings"

// Packing the values no rule reads (issue #5).
//
// A flattener bound to an engine hands the engine as fields only those
// that have a slot, the time fields the hunter reads, and short values;
// the values of packMin bytes or more of the others, which matter only
// to keyword searches, are packed one after the other, each followed by
// a zero byte, into one text: the line's last field (packedName). The
// prefilter then scans that text once for keyword needles instead of ~30
// values one by one (with a call, an ASCII test and a matcher setup
// each), and a keyword search tests it as one value. Both are exact only
// when no keyword needle or keyword literal holds a zero byte (a match
// can then not span two values) and every keyword search only asks
// whether some value contains a literal (or exists, or is null: those
// look at no value): packSafe checks it once per engine, and an engine
// where it does not hold gets every field as before.

// deadSlot is the slot of a packed member: no rule reads it, and its
// value goes to the packed text when it is packMin bytes or longer.
const deadSlot = -2

// packMin is the length from which a packed member's value is packed:
// shorter values cost less as fields (the prefilter skips values shorter
// than its keyword needles on a length test).
const packMin = 8

// packedName is the name of the field of packed values (no rule reads
// it: the flattener gives it no slot).
const packedName = ""

// packSafe reports whether e's keyword searches and keyword needles give
// the same answers over the packed text as over the values in it.
func packSafe(e *Engine) bool {
	for _, k := range e.pf.keys {
		if k.slot < 0 && strings.IndexByte(k.lit, 0) >= 0 {
			return false
		}
	}
	for i := range e.rules {
		for j := range e.rules[i].alts {
			if !packSafeNode(e.rules[i].alts[j].cond) {
				return false
			}
		}
	}
	for i := range e.alts {
		if !packSafeNode(e.alts[i].cond) {
			return false
		}
		for j := range e.alts[i].rules {
			if !packSafeNode(e.alts[i].rules[j].cond) {
				return false
			}
		}
	}
	return true
}

// packSafeNode is packSafe for one condition: any node type it does not
// know counts as unsafe.
func packSafeNode(n node) bool {
	switch n := n.(type) {
	case nil, constNode, *leafNode:
		return true
	case andNode:
		return packSafeNodes(n)
	case orNode:
		return packSafeNodes(n)
	case ofNode:
		return packSafeNodes(n.xs)
	case notNode:
		return packSafeNode(n.x)
	case *memoNode:
		return packSafeNode(n.x)
	case *keywordNode:
		for _, g := range n.groups {
			for i := range g {
				switch m := &g[i]; m.op {
				case opNull, opExists:
				case opContains:
					if strings.IndexByte(m.s, 0) >= 0 {
						return false
					}
				default:
					return false
				}
			}
		}
		return true
	}
	return false
}

func packSafeNodes(ns []node) bool {
	for _, x := range ns {
		if !packSafeNode(x) {
			return false
		}
	}
	return true
}
