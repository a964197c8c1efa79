package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// RulebookDiff is what changed from one rulebook version to another: every
// changed, added or removed value, item by item, in the order of the newer
// document (document-level changes first, then each item, then the
// vetoes). It is computed from the documents alone.
type RulebookDiff struct {
	Year    int              `json:"year"`
	From    RulebookID       `json:"from"`
	To      RulebookID       `json:"to"`
	Changes []RulebookChange `json:"changes"`
}

// RulebookID names a rulebook version and the SHA-256 of its canonical
// encoding.
type RulebookID struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Areas of a rulebook change (RulebookChange.Area).
const (
	DiffAreaDocument = "document" // year, title, source, total
	DiffAreaWeights  = "weights"  // online and group shares
	DiffAreaTiers    = "tiers"    // tier thresholds
	DiffAreaDues     = "dues"     // rate table and deadlines
	DiffAreaSections = "sections" // section titles and values
	DiffAreaItem     = "item"     // an item added or removed, or its title, texts, kinds
	DiffAreaValue    = "value"    // an item's value
	DiffAreaRules    = "rules"    // an item's computable rules
	DiffAreaFindings = "findings" // an item's findings
	DiffAreaVetoes   = "vetoes"
)

// Operations of a rulebook change.
const (
	DiffChanged = "changed"
	DiffAdded   = "added"
	DiffRemoved = "removed"
)

// RulebookChange is one difference. Path names the value in the documents
// with list elements by their key where they have one
// ("items[5.3].rules[5.3.general_assembly].need", "tiers[advanced].min",
// "dues.rates[1].rate_bp") and by position otherwise. From and To are the
// JSON values (From absent when added, To absent when removed).
type RulebookChange struct {
	Area string          `json:"area"`
	Item string          `json:"item,omitempty"` // the item's code, for item areas
	Path string          `json:"path"`
	Op   string          `json:"op"`
	From json.RawMessage `json:"from,omitempty"`
	To   json.RawMessage `json:"to,omitempty"`
}

// ItemCodes returns the codes of the items with changes, in order.
func (d *RulebookDiff) ItemCodes() []string {
	var out []string
	for _, c := range d.Changes {
		if c.Item != "" && (len(out) == 0 || out[len(out)-1] != c.Item) {
			out = append(out, c.Item)
		}
	}
	return out
}

// DiffRulebooks compares two rulebooks (normally two versions of one
// year). The version field itself is not reported: it is in From and To.
func DiffRulebooks(from, to *Rulebook) (*RulebookDiff, error) {
	if from == nil || to == nil {
		return nil, fmt.Errorf("domain: diff: no rulebook")
	}
	a, err := orderedOf(from)
	if err != nil {
		return nil, err
	}
	b, err := orderedOf(to)
	if err != nil {
		return nil, err
	}
	d := &RulebookDiff{Year: to.Year, From: RulebookID{from.Version, from.SHA256()},
		To: RulebookID{to.Version, to.SHA256()}, Changes: []RulebookChange{}}
	emit := func(path, op string, x, y *jnode) {
		c := RulebookChange{Path: path, Op: op}
		if x != nil {
			c.From = x.raw
		}
		if y != nil {
			c.To = y.raw
		}
		c.Area, c.Item = diffArea(path)
		d.Changes = append(d.Changes, c)
	}
	// Document-level keys in a reading order: the frame, then the items,
	// then the vetoes; anything else (a field added to the format later)
	// after them.
	order := []string{"year", "title", "source", "total", "weights", "tiers", "dues", "late_entry_days", "sections", "items", "vetoes"}
	keys := append([]string(nil), order...)
	for _, n := range []*jnode{b, a} {
		for _, k := range n.keys {
			if k != "version" && !rbContains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		diffNodes(k, a.get(k), b.get(k), emit)
	}
	return d, nil
}

// diffArea classifies a change by its path.
func diffArea(path string) (area, item string) {
	if rest, ok := strings.CutPrefix(path, "items["); ok {
		// Item codes and rule ids contain dots: the key ends at "]".
		code, rest, _ := strings.Cut(rest, "]")
		field := strings.TrimPrefix(rest, ".")
		if i := strings.IndexAny(field, ".["); i >= 0 {
			field = field[:i]
		}
		switch field {
		case "value":
			return DiffAreaValue, code
		case "rules":
			return DiffAreaRules, code
		case "findings":
			return DiffAreaFindings, code
		}
		return DiffAreaItem, code
	}
	name := path
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name = name[:i]
	}
	switch name {
	case "weights":
		return DiffAreaWeights, ""
	case "tiers":
		return DiffAreaTiers, ""
	case "dues":
		return DiffAreaDues, ""
	case "sections":
		return DiffAreaSections, ""
	case "vetoes":
		return DiffAreaVetoes, ""
	}
	return DiffAreaDocument, ""
}

// jnode is a JSON value with object keys in the order they were written
// (the Go field order of the rulebook types, which is the reading order).
type jnode struct {
	kind  byte // '{', '[' or 0 for a scalar
	keys  []string
	vals  []*jnode
	elems []*jnode
	raw   json.RawMessage // compact encoding, for equality and display
}

func (n *jnode) get(key string) *jnode {
	if n == nil {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// orderedOf encodes a rulebook with the field order of its Go types (not
// the sorted canonical order) and parses it into jnodes.
func orderedOf(rb *Rulebook) (*jnode, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode((*rulebookFields)(rb)); err != nil {
		return nil, fmt.Errorf("domain: diff: encode %s: %w", rb.Version, err)
	}
	return parseJNode(bytes.TrimRight(buf.Bytes(), "\n"))
}

func parseJNode(raw json.RawMessage) (*jnode, error) {
	n := &jnode{raw: raw}
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
		return n, nil
	}
	n.kind = raw[0]
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the opening delimiter
		return nil, err
	}
	for dec.More() {
		var key string
		if n.kind == '{' {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ = t.(string)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		child, err := parseJNode(v)
		if err != nil {
			return nil, err
		}
		if n.kind == '{' {
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, child)
		} else {
			n.elems = append(n.elems, child)
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, err
	}
	return n, nil
}

// diffNodes reports the differences between a and b (either may be nil:
// absent) at path.
func diffNodes(path string, a, b *jnode, emit func(path, op string, a, b *jnode)) {
	switch {
	case a == nil && b == nil:
		return
	case a == nil:
		emit(path, DiffAdded, nil, b)
		return
	case b == nil:
		emit(path, DiffRemoved, a, nil)
		return
	case bytes.Equal(a.raw, b.raw):
		return
	case a.kind == '{' && b.kind == '{':
		keys := append([]string(nil), b.keys...)
		for _, k := range a.keys {
			if !rbContains(keys, k) {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			diffNodes(path+"."+k, a.get(k), b.get(k), emit)
		}
		return
	case a.kind == '[' && b.kind == '[':
		if key := listKey(a, b); key != "" {
			diffKeyed(path, key, a, b, emit)
			return
		}
		if len(a.elems) == len(b.elems) && len(a.elems) > 0 && a.elems[0].kind == '{' {
			for i := range a.elems {
				diffNodes(fmt.Sprintf("%s[%d]", path, i), a.elems[i], b.elems[i], emit)
			}
			return
		}
	}
	emit(path, DiffChanged, a, b)
}

// listKeys are the fields that name list elements, in order of preference.
var listKeys = []string{"id", "code", "tier", "value", "type"}

// listKey returns the field that identifies every object of both lists
// uniquely, or "" when there is none (a list of scalars, or of objects
// without such a field).
func listKey(a, b *jnode) string {
	for _, k := range listKeys {
		ok := true
		for _, list := range [][]*jnode{a.elems, b.elems} {
			seen := map[string]bool{}
			for _, e := range list {
				v := e.get(k)
				if e.kind != '{' || v == nil || v.kind != 0 || seen[string(v.raw)] {
					ok = false
					break
				}
				seen[string(v.raw)] = true
			}
			if !ok {
				break
			}
		}
		if ok && len(a.elems)+len(b.elems) > 0 {
			return k
		}
	}
	return ""
}

func diffKeyed(path, key string, a, b *jnode, emit func(path, op string, a, b *jnode)) {
	label := func(e *jnode) string {
		var s string
		if json.Unmarshal(e.get(key).raw, &s) == nil {
			return s
		}
		return string(e.get(key).raw)
	}
	find := func(list []*jnode, name string) *jnode {
		for _, e := range list {
			if label(e) == name {
				return e
			}
		}
		return nil
	}
	for _, e := range b.elems {
		name := label(e)
		diffNodes(path+"["+name+"]", find(a.elems, name), e, emit)
	}
	for _, e := range a.elems {
		if name := label(e); find(b.elems, name) == nil {
			diffNodes(path+"["+name+"]", e, nil, emit)
		}
	}
}
