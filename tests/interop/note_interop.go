// note_interop checks this project's signed notes, checkpoints and Merkle
// proofs with Go's reference implementations (golang.org/x/mod/sumdb/note
// and golang.org/x/mod/sumdb/tlog). Driven by interop_test.cc; builds in
// GOPATH mode against Debian's golang-golang-x-mod-dev.
//
//	note_interop verify VKEY_FILE NOTE_FILE ORIGIN
//	    Opens a signed checkpoint note with note.Open; prints
//	    "OK <origin> <size> <root base64>".
//	note_interop sign SKEY_FILE TEXT_FILE OUT_FILE
//	    Signs TEXT_FILE with a Go signer key (note.Sign).
//	note_interop genkey NAME SKEY_OUT VKEY_OUT
//	    Makes a fresh key pair with note.GenerateKey.
//	note_interop tlog JSON_FILE
//	    Rebuilds the tree from its leaf hashes with tlog, then checks every
//	    proof case with tlog.CheckRecord / tlog.CheckTree and compares the
//	    proofs with tlog's own; prints "PASS <cases>".
//
// Any failure prints "FAIL: ..." on stderr and exits 1.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return b
}

func writeFile(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		fail("%v", err)
	}
}

func verify(args []string) {
	if len(args) != 3 {
		fail("usage: verify VKEY_FILE NOTE_FILE ORIGIN")
	}
	vkey := strings.TrimSpace(string(readFile(args[0])))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	n, err := note.Open(readFile(args[1]), note.VerifierList(v))
	if err != nil {
		fail("note.Open: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != v.Name() || n.Sigs[0].Hash != v.KeyHash() {
		fail("unexpected verified signatures %v", n.Sigs)
	}
	// A tlog-checkpoint body: origin, size, root, optional extensions.
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	if lines[0] != args[2] {
		fail("origin %q, want %q", lines[0], args[2])
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || strconv.FormatInt(size, 10) != lines[1] {
		fail("tree size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("root hash: %v", err)
	}
	fmt.Printf("OK %s %d %s\n", lines[0], size, root)
}

func sign(args []string) {
	if len(args) != 3 {
		fail("usage: sign SKEY_FILE TEXT_FILE OUT_FILE")
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(readFile(args[0]))))
	if err != nil {
		fail("signer key: %v", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(readFile(args[1]))}, signer)
	if err != nil {
		fail("note.Sign: %v", err)
	}
	writeFile(args[2], msg)
	fmt.Println("OK")
}

func genkey(args []string) {
	if len(args) != 3 {
		fail("usage: genkey NAME SKEY_OUT VKEY_OUT")
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, args[0])
	if err != nil {
		fail("note.GenerateKey: %v", err)
	}
	writeFile(args[1], []byte(skey+"\n"))
	writeFile(args[2], []byte(vkey+"\n"))
	fmt.Println("OK")
}

type proofCase struct {
	Kind    string   `json:"kind"` // "inclusion" or "consistency"
	Size    int64    `json:"size"`
	Root    string   `json:"root"`
	Index   int64    `json:"index"`    // inclusion
	Leaf    string   `json:"leaf"`     // inclusion: the leaf hash
	OldSize int64    `json:"old_size"` // consistency
	OldRoot string   `json:"old_root"` // consistency
	Proof   []string `json:"proof"`
	WantOK  bool     `json:"want_ok"`
}

type tlogInput struct {
	Leaves []string    `json:"leaves"` // leaf hashes of the largest tree
	Cases  []proofCase `json:"cases"`
}

func hash(s string) tlog.Hash {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		fail("bad hash %q", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, 0, len(list))
	for _, s := range list {
		out = append(out, hash(s))
	}
	return out
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkTlog(args []string) {
	if len(args) != 1 {
		fail("usage: tlog JSON_FILE")
	}
	var in tlogInput
	if err := json.Unmarshal(readFile(args[0]), &in); err != nil {
		fail("json: %v", err)
	}
	if len(in.Cases) == 0 {
		fail("no cases")
	}

	// Go's own tree over the same leaves.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range in.Leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), hash(leaf), reader)
		if err != nil {
			fail("StoredHashes(%d): %v", i, err)
		}
		stored = append(stored, hs...)
	}
	if len(in.Leaves) > 0 {
		// The C++ leaf hash is tlog's record hash of the same bytes.
		if got, want := tlog.RecordHash([]byte("leaf-0")), hash(in.Leaves[0]); got != want {
			fail("RecordHash(leaf-0) = %v, C++ leaf hash %v", got, want)
		}
	}
	treeHash := func(n int64) tlog.Hash {
		h, err := tlog.TreeHash(n, reader)
		if err != nil {
			fail("TreeHash(%d): %v", n, err)
		}
		return h
	}

	for i, c := range in.Cases {
		root := hash(c.Root)
		proof := hashes(c.Proof)
		var err error
		switch c.Kind {
		case "inclusion":
			if c.WantOK {
				if got := treeHash(c.Size); got != root {
					fail("case %d: tree hash of %d is %v, C++ says %v", i, c.Size, got, root)
				}
				p, perr := tlog.ProveRecord(c.Size, c.Index, reader)
				if perr != nil || !sameHashes(p, proof) {
					fail("case %d: tlog.ProveRecord(%d, %d) differs from C++ (%v)", i, c.Size, c.Index, perr)
				}
			}
			err = tlog.CheckRecord(tlog.RecordProof(proof), c.Size, root, c.Index, hash(c.Leaf))
		case "consistency":
			oldRoot := hash(c.OldRoot)
			if c.WantOK {
				if got := treeHash(c.OldSize); got != oldRoot {
					fail("case %d: tree hash of %d is %v, C++ says %v", i, c.OldSize, got, oldRoot)
				}
				p, perr := tlog.ProveTree(c.Size, c.OldSize, reader)
				if perr != nil || !sameHashes(p, proof) {
					fail("case %d: tlog.ProveTree(%d, %d) differs from C++ (%v)", i, c.Size, c.OldSize, perr)
				}
			}
			err = tlog.CheckTree(tlog.TreeProof(proof), c.Size, root, c.OldSize, oldRoot)
		default:
			fail("case %d: unknown kind %q", i, c.Kind)
		}
		if (err == nil) != c.WantOK {
			fail("case %d (%s size %d index %d old %d): want ok=%v, got err=%v",
				i, c.Kind, c.Size, c.Index, c.OldSize, c.WantOK, err)
		}
	}
	fmt.Printf("PASS %d\n", len(in.Cases))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: note_interop verify|sign|genkey|tlog ...")
	}
	switch os.Args[1] {
	case "verify":
		verify(os.Args[2:])
	case "sign":
		sign(os.Args[2:])
	case "genkey":
		genkey(os.Args[2:])
	case "tlog":
		checkTlog(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
