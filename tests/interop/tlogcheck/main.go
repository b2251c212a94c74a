// tlogcheck: checks a C2SP tlog-tiles log served over HTTP with Go's
// reference code (golang.org/x/mod/sumdb/note and .../tlog, Debian's
// golang-golang-x-mod-dev; builds in GOPATH mode).
//
//	tlogcheck URL VKEY
//
// Fetches URL/checkpoint and verifies it with VKEY (its name must be the
// origin line); reads every tile of every level through tlog.TileHashReader,
// which proves each against the checkpoint's root, and compares the served
// bytes with tlog.ReadTileData; checks that every entry in every entry
// bundle hashes (tlog.RecordHash) to its leaf hash. A partial tile or bundle
// that is gone (superseded) is read from its full tile, as the spec allows.
// Prints "ok <origin> size N root R tiles T bundles B" or "FAIL: ..." (exit 1).
package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var client = &http.Client{Timeout: 30 * time.Second}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// get returns the body, or nil for a 404.
func get(url string) ([]byte, *http.Response, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, resp, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return body, resp, nil
}

// ourPath maps Go's "tile/8/L/N[.p/W]" ("data" for entries) to the C2SP
// path "tile/L/N[.p/W]" ("entries").
func ourPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type httpTiles struct {
	base    string
	cache   map[string][]byte
	fetches int
}

func (h *httpTiles) Height() int { return height }

// fetch returns tile t's bytes; a missing partial is cut from its full tile.
func (h *httpTiles) fetch(t tlog.Tile) ([]byte, error) {
	p := ourPath(t)
	if b, ok := h.cache[p]; ok {
		return b, nil
	}
	h.fetches++
	body, _, err := get(h.base + "/" + p)
	if err != nil {
		return nil, err
	}
	if body == nil && t.W < 1<<height {
		full := t
		full.W = 1 << height
		fb, err := h.fetch(full)
		if err != nil {
			return nil, fmt.Errorf("%s: 404, and its full tile: %v", p, err)
		}
		body = cut(t, fb)
	}
	if body == nil {
		return nil, fmt.Errorf("%s: 404", p)
	}
	h.cache[p] = body
	return body, nil
}

// cut returns the first t.W hashes (or entries) of a full tile.
func cut(t tlog.Tile, full []byte) []byte {
	if t.L >= 0 {
		if len(full) < t.W*tlog.HashSize {
			return nil
		}
		return full[:t.W*tlog.HashSize]
	}
	entries, err := parseBundle(full, 1<<height)
	if err != nil {
		return nil
	}
	n := 0
	for _, e := range entries[:t.W] {
		n += 2 + len(e)
	}
	return full[:n]
}

func (h *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := h.fetch(t)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (h *httpTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func parseBundle(b []byte, want int) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("truncated length prefix")
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			return nil, fmt.Errorf("truncated entry %d", len(out))
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	if len(out) != want {
		return nil, fmt.Errorf("%d entries, expected %d", len(out), want)
	}
	return out, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck URL VKEY")
		os.Exit(2)
	}
	base := strings.TrimRight(os.Args[1], "/")
	v, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("verifier key: %v", err)
	}
	raw, resp, err := get(base + "/checkpoint")
	if err != nil || raw == nil {
		fail("checkpoint: %v (404: %v)", err, raw == nil)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		fail("checkpoint Content-Type %q", ct)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != v.Name() {
		fail("checkpoint origin %q, expected %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("checkpoint size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	tiles := &httpTiles{base: base, cache: map[string][]byte{}}
	thr := tlog.TileHashReader(tree, tiles)

	if got, err := tlog.TreeHash(size, thr); err != nil || got != root {
		fail("tree hash at %d: %v (%v)", size, got, err)
	}
	// Every tile of every level, proven against the root. (NewTiles lists
	// every partial width, as sumdb publishes them; C2SP logs serve the
	// widths of their checkpoints, so check the one of this checkpoint.)
	var all []tlog.Tile
	for _, t := range tlog.NewTiles(height, 0, size) {
		if t.W == 1<<height || int64(t.W) == size>>(height*t.L)-t.N<<height {
			all = append(all, t)
		}
	}
	for _, t := range all {
		want, err := tlog.ReadTileData(t, thr)
		if err != nil {
			fail("%s: %v", ourPath(t), err)
		}
		got, err := tiles.fetch(t)
		if err != nil || !bytes.Equal(got, want) {
			fail("%s: served bytes are not the tree's (%v)", ourPath(t), err)
		}
	}
	// Every entry bundle hashes to its level-0 tile.
	bundles := 0
	for start := int64(0); start < size; start += 1 << height {
		w := size - start
		if w > 1<<height {
			w = 1 << height
		}
		t := tlog.Tile{H: height, L: -1, N: start >> height, W: int(w)}
		b, err := tiles.fetch(t)
		if err != nil {
			fail("%s: %v", ourPath(t), err)
		}
		entries, err := parseBundle(b, int(w))
		if err != nil {
			fail("%s: %v", ourPath(t), err)
		}
		idx := make([]int64, w)
		for i := range idx {
			idx[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		leaves, err := thr.ReadHashes(idx)
		if err != nil {
			fail("leaf hashes %d..: %v", start, err)
		}
		for i, e := range entries {
			if tlog.RecordHash(e) != leaves[i] {
				fail("%s: entry %d does not hash to leaf %d", ourPath(t), i, start+int64(i))
			}
		}
		bundles++
	}
	fmt.Printf("ok %s size %d root %s tiles %d bundles %d\n", v.Name(), size, root, len(all), bundles)
}
