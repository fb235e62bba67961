package store

// This file is the contract between the store and its users (the query
// engine, the server, verify). Change it only together with them.

import (
	"context"
	"errors"
	"strconv"

	"github.com/mamori/mamori/internal/event"
)

// ErrOverloaded is returned by Append when the in-memory budget for
// not-yet-flushed data is full. The HTTP layer answers 429 with Retry-After.
var ErrOverloaded = errors.New("store overloaded: in-memory buffer full")

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store closed")

// FilterOp says what a Filter node does.
type FilterOp uint8

const (
	// FilterAll matches every block (no pruning possible).
	FilterAll FilterOp = iota
	// FilterToken: the block may match only if Token occurs in column Field
	// (or, when Field is "", in any column including _raw). Token is one
	// token as produced by package token (lower-cased).
	FilterToken
	// FilterAnd: every child must be possible.
	FilterAnd
	// FilterOr: at least one child must be possible.
	FilterOr
	// FilterEqual: column Field has exactly the value Value in some row
	// (case-sensitive). Used for metadata and for exact-value indexes.
	FilterEqual
)

// Filter is a pruning predicate over blocks: a block is skipped only when the
// filter proves that no row in it can match. It is necessary, not
// sufficient: the query engine still evaluates its exact predicate on every
// row of the blocks that are kept. NOT is never part of a Filter (a negation
// cannot prune); the query engine replaces it with FilterAll.
type Filter struct {
	Op    FilterOp
	Field string // column name; "" means any column (FilterToken only)
	Token string // FilterToken
	Value string // FilterEqual
	Kids  []*Filter
}

// Query selects blocks.
type Query struct {
	MinTime int64 // inclusive, Unix ns; 0 means unbounded
	MaxTime int64 // exclusive, Unix ns; 0 means unbounded
	// Partitions to read; nil means every partition except internal ones
	// whose name starts with '_'.
	Partitions []string
	// Sources and Hosts restrict streams; nil means any.
	Sources []string
	Hosts   []string
	// Filter prunes blocks by tokens and values; nil means no pruning.
	Filter *Filter
}

// Stats counts the work of one Blocks call, for explain and the search
// answer's trailer.
type Stats struct {
	PartsTotal    int `json:"parts_total"`
	PartsScanned  int `json:"parts_scanned"`
	PartsSkipped  int `json:"parts_skipped"`
	BlocksTotal   int `json:"blocks_total"`
	BlocksScanned int `json:"blocks_scanned"`
	BlocksSkipped int `json:"blocks_skipped"`
	// RowsScanned counts the rows of kept blocks (filled in by the caller
	// as it loads them, when it wants to).
	RowsScanned int64 `json:"rows_scanned"`
}

// BlockRef describes one block that may match a Query, without decoding it.
// Its methods are safe for concurrent use, and a BlockRef stays loadable
// until the Snapshot that produced it is released, even if a merge or
// retention removes its part meanwhile.
type BlockRef interface {
	Partition() string
	Source() string
	Host() string
	MinTime() int64 // inclusive, Unix ns
	MaxTime() int64 // inclusive, Unix ns
	Rows() int
	// Columns lists the names of the columns the block has, including the
	// metadata columns it stores (_time, _raw and _category at least).
	Columns() []string
	// Load decodes the named columns. Names may include "_time", "_raw",
	// "_category", "_received" and field names; a name the block does not
	// have yields an absent column. nil means every column.
	Load(cols []string) (*Block, error)
	// MinuteCounts returns per-minute row counts: the minute (Unix ns,
	// truncated to the minute) and its count, ascending; it needs no
	// decoding of columns (kept in block metadata at write time).
	MinuteCounts() []MinuteCount
}

// MinuteCount is a row count for one minute.
type MinuteCount struct {
	Minute int64
	Count  int
}

// ColumnLoader is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it): loads that skip work the caller does not need. Its
// methods are safe for concurrent use, like the BlockRef's.
type ColumnLoader interface {
	// LoadWith is Load with options.
	LoadWith(cols []string, o LoadOptions) (*Block, error)
	// LoadDict returns the named column as codes into its distinct values
	// when the block stores it as a constant or a dictionary (at most 65535
	// values), or when the block lacks it; otherwise nil (use Load).
	// Metadata columns kept in the block header (_time, _source, _host,
	// _partition) always give nil. The result may be shared between
	// calls: do not modify it.
	LoadDict(name string) (*DictColumn, error)
}

// IPv4Loader is implemented by the BlockRefs of parts (type-assert a
// BlockRef for it): loads an IPv4 column as numbers, so a caller can
// compare, count and collect addresses without formatting text. Safe for
// concurrent use, like the BlockRef.
type IPv4Loader interface {
	// LoadIPv4 returns the named column as IPv4 numbers when the block
	// stores it with the ipv4 kind (every present value a canonical
	// dotted quad); nil otherwise (use Load / LoadDict).
	LoadIPv4(name string) (*IPv4Column, error)
}

// IPv4Column is a column of dotted quads as numbers: a.b.c.d is
// a<<24 | b<<16 | c<<8 | d, and AppendIPv4 gives back its exact text.
type IPv4Column struct {
	Name   string
	Addrs  []uint32 // one per row, 0 where absent
	Absent []bool   // nil when every row has the field
}

// LoadOptions tune a LoadWith; the zero value is Load.
type LoadOptions struct {
	// NoTimes leaves Block.Times nil and sets Block.N instead, for callers
	// that read no per-row time (the block lies inside their time range).
	NoTimes bool
	// Rows, when not nil, lists the rows (ascending) whose values the
	// caller reads: the values of other rows may be left empty, which
	// saves expanding their _raw text.
	Rows []int
	// PruneCols and PruneTexts serve term searches: a column named in
	// PruneCols whose stored values cannot contain any of PruneTexts
	// (compared ASCII case-insensitively; no texts: none can) is left out
	// of the Block. Only field columns are pruned, never _raw.
	PruneCols  []string
	PruneTexts []string
	// RawTemplates leaves _raw as stored when the block keeps it as
	// templates: Block.Raw holds them (see RawTemplates) and the _raw
	// column is left out of Block.Cols, so a search can match most rows
	// without expanding their text. Blocks that store _raw otherwise
	// load it as a column as usual (Block.Raw nil).
	RawTemplates bool
}

// DictColumn is a column as codes into a table of its distinct values, so
// a caller can compare and count by code instead of by string.
type DictColumn struct {
	Name string
	// Dict holds the distinct values; empty when no row has the field.
	Dict []string
	// Codes holds one code per row: 0 when the row lacks the field, else
	// 1 + the index of its value in Dict. nil when every row has Dict[0]
	// (a constant column) or no row has the field (Dict empty).
	Codes []uint16
}

// Block is a decoded block: Rows rows sorted by time ascending, all of one
// stream (partition, source, host).
type Block struct {
	Partition string
	Source    string
	Host      string
	Times     []int64 // Unix ns per row, ascending; nil after LoadOptions.NoTimes
	// N is the number of rows when Times is nil (LoadOptions.NoTimes).
	N int
	// Cols holds the loaded columns, in the order asked for (or the block's
	// order for nil). "_raw", "_category" and "_received" are columns like
	// any other.
	Cols []Column
	// Raw holds the _raw templates after LoadOptions.RawTemplates (nil
	// otherwise); call Raw.Release once done with the block.
	Raw *RawTemplates
}

// Rows returns the number of rows.
func (b *Block) Rows() int {
	if b.Times == nil {
		return b.N
	}
	return len(b.Times)
}

// Column returns the named column, or nil.
func (b *Block) Column(name string) *Column {
	for i := range b.Cols {
		if b.Cols[i].Name == name {
			return &b.Cols[i]
		}
	}
	return nil
}

// Column is the values of one field over the rows of a block.
type Column struct {
	Name   string
	Values []string // one per row; "" where absent
	// Absent marks rows that do not have the field; nil means every row has
	// it (an empty value is then a present empty string).
	Absent []bool
}

// Has reports whether row i has the field.
func (c *Column) Has(i int) bool { return c.Absent == nil || !c.Absent[i] }

// Snapshot is a consistent view of the store for one query.
type Snapshot interface {
	// Blocks returns the blocks that may match q: pruned by time range,
	// partition, stream and Filter, and the counts of what was pruned.
	// Data that was acknowledged by Append but is not yet in a part is
	// included (as in-memory blocks).
	Blocks(ctx context.Context, q Query) ([]BlockRef, Stats, error)
	// Release lets merges and retention delete the parts the snapshot
	// holds. Call it once, after the last Load.
	Release()
}

// Engine is what the rest of Mamori needs from a store. The embedded store
// implements it; a scale-out store (object storage + a replicated log) can
// too.
type Engine interface {
	// Append makes events durable (write-ahead log, fsync per the sync
	// policy) and visible to searches before returning. Events without a
	// Partition go to event.DefaultPartition (or the routing rules' choice).
	// It returns ErrOverloaded instead of growing memory without bound.
	// It may be called concurrently; concurrent calls share one fsync
	// (group commit).
	Append(ctx context.Context, events []event.Event) error
	// Snapshot returns a view for searching.
	Snapshot() Snapshot
	// Close flushes in-memory data to parts and closes files.
	Close() error
}

// Events turns the rows of a decoded block back into events: every row, or
// with keep the rows where keep[i] is true. The events' fields share one
// backing array.
func (b *Block) Events(keep []bool) []event.Event {
	n := len(b.Times)
	if keep != nil {
		n = 0
		for _, k := range keep {
			if k {
				n++
			}
		}
	}
	evs := make([]event.Event, 0, n)
	nf := 0
	for _, c := range b.Cols {
		if !isReservedColumn(c.Name) {
			nf++
		}
	}
	fields := make([]event.Field, 0, nf*n)
	for i := range b.Times {
		if keep != nil && !keep[i] {
			continue
		}
		evs = append(evs, event.Event{Time: b.Times[i], Source: b.Source, Host: b.Host, Partition: b.Partition})
		e := &evs[len(evs)-1]
		start := len(fields)
		for _, c := range b.Cols {
			if !c.Has(i) {
				continue
			}
			switch c.Name {
			case event.FieldTime, event.FieldSource, event.FieldHost, event.FieldPartition:
			case event.FieldRaw:
				e.Raw = c.Values[i]
			case event.FieldCategory:
				e.Category = c.Values[i]
			case event.FieldReceived:
				e.Received = ParseReceived(c.Values[i])
			default:
				fields = append(fields, event.Field{Name: c.Name, Value: c.Values[i]})
			}
		}
		e.Fields = fields[start:len(fields):len(fields)]
	}
	return evs
}

// ParseReceived reads a _received value: the store writes Unix ns as a
// decimal integer, in-memory sources may write RFC 3339; 0 when neither.
func ParseReceived(v string) int64 {
	// Fast path: the store's canonical integer.
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	// Slow path: a formatted time.
	n, _ := event.ParseTime(v)
	return n
}
