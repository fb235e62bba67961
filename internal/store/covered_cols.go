package store

// Coverage keys (part version 5): the bloom filter of a block records
// which field columns hold a value that is not found in the same row's
// raw text, so that a search for text can leave out the columns whose
// every value it would find in _raw anyway. Not written yet.

// addCoverageKeys adds the block's coverage keys to bb after the
// columns' tokens (kinds are the chunk kinds written for cb's columns).
func addCoverageKeys(bb *bloomBuilder, cb *colBuilder, kinds []byte) {}
