// tlog_peer: the peer issue 13's proof target is measured against — Go's
// checksum-database tile code (golang.org/x/mod/sumdb/tlog, Debian's
// golang-golang-x-mod-dev) proving inclusion from stored hashes held in
// memory. Builds in GOPATH mode (scripts/bench-proofs.sh).
//
//	tlog_peer [LEAVES=1048576] [PROOFS=200000]
//
// Prints one line: leaves, proofs, proofs/s and µs per proof. Every proof
// of a sample is checked with tlog.CheckRecord, so a broken run fails.
package main

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// hashes is a tlog.HashReader over all stored hashes, in memory.
type hashes []tlog.Hash

func (h hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = h[x]
	}
	return out, nil
}

func arg(i int, def int64) int64 {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.ParseInt(os.Args[i], 10, 64)
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "FAIL: bad argument %q\n", os.Args[i])
		os.Exit(2)
	}
	return v
}

func main() {
	n, proofs := arg(1, 1<<20), arg(2, 200000)
	var store hashes
	for i := int64(0); i < n; i++ {
		hs, err := tlog.StoredHashes(i, []byte(fmt.Sprintf("leaf %d", i)), store)
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			os.Exit(1)
		}
		store = append(store, hs...)
	}
	root, err := tlog.TreeHash(n, store)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	rng := rand.New(rand.NewSource(1))
	start := time.Now()
	for i := int64(0); i < proofs; i++ {
		idx := rng.Int63n(n)
		p, err := tlog.ProveRecord(n, idx, store)
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			os.Exit(1)
		}
		if i%1000 == 0 {
			leaf := tlog.RecordHash([]byte(fmt.Sprintf("leaf %d", idx)))
			if err := tlog.CheckRecord(p, n, root, idx, leaf); err != nil {
				fmt.Fprintln(os.Stderr, "FAIL: proof does not check:", err)
				os.Exit(1)
			}
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("go sumdb/tlog: %d leaves, %d inclusion proofs from memory in %.3f s: %.0f proofs/s, %.2f us each\n",
		n, proofs, elapsed, float64(proofs)/elapsed, elapsed*1e6/float64(proofs))
}
