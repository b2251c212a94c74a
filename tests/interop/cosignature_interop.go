// cosignature_interop is an independent implementation of C2SP
// tlog-cosignature v1 (Ed25519, type 0x04) from the spec text, with Go's
// crypto/ed25519 and golang.org/x/mod/sumdb/note, to cross-check
// verifier/cosignature.{h,cc}. Driven by cosignature_interop_test.cc; builds
// in GOPATH mode against Debian's golang-golang-x-mod-dev.
//
//	cosignature_interop cosign SEED_HEX NAME TIME TEXT_FILE
//	    Prints the witness vkey, then the cosignature line on the note text.
//	cosignature_interop verify VKEY NOTE_FILE
//	    Opens the note with note.Open and a cosignature/v1 verifier for VKEY;
//	    prints "OK <timestamp>".
//
// Any failure prints "FAIL: ..." on stderr and exits 1.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func keyHash(name string, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', 0x04})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil)[:4])
}

func message(text string, t uint64) []byte {
	return []byte("cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n" + text)
}

// cosigVerifier is a note.Verifier for timestamped Ed25519 cosignatures.
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
	time uint64
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t >= 1<<63 || !ed25519.Verify(v.pub, message(string(msg), t), sig[8:]) {
		return false
	}
	v.time = t
	return true
}

func cosign(args []string) {
	if len(args) != 4 {
		fail("usage: cosign SEED_HEX NAME TIME TEXT_FILE")
	}
	seed, err := hex.DecodeString(args[0])
	if err != nil || len(seed) != ed25519.SeedSize {
		fail("bad seed")
	}
	name := args[1]
	t, err := strconv.ParseUint(args[2], 10, 63)
	if err != nil {
		fail("bad time: %v", err)
	}
	text, err := os.ReadFile(args[3])
	if err != nil {
		fail("%v", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	h := keyHash(name, pub)
	vkey := fmt.Sprintf("%s+%08x+%s", name, h,
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
	blob := make([]byte, 12, 12+ed25519.SignatureSize)
	binary.BigEndian.PutUint32(blob, h)
	binary.BigEndian.PutUint64(blob[4:], t)
	blob = append(blob, ed25519.Sign(priv, message(string(text), t))...)
	fmt.Printf("%s\n\u2014 %s %s\n", vkey, name, base64.StdEncoding.EncodeToString(blob))
}

func verify(args []string) {
	if len(args) != 2 {
		fail("usage: verify VKEY NOTE_FILE")
	}
	parts := strings.SplitN(args[0], "+", 3)
	if len(parts) != 3 {
		fail("vkey is not name+hash+key")
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		fail("vkey is not a type 0x04 Ed25519 key")
	}
	h, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || uint32(h) != keyHash(parts[0], key[1:]) {
		fail("vkey hash does not match")
	}
	v := &cosigVerifier{name: parts[0], hash: uint32(h), pub: ed25519.PublicKey(key[1:])}
	msg, err := os.ReadFile(args[1])
	if err != nil {
		fail("%v", err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		fail("note.Open: %v", err)
	}
	fmt.Printf("OK %d\n", v.time)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: cosignature_interop cosign|verify ...")
	}
	switch os.Args[1] {
	case "cosign":
		cosign(os.Args[2:])
	case "verify":
		verify(os.Args[2:])
	default:
		fail("unknown command %q", os.Args[1])
	}
}
