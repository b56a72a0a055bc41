package cloud

import (
	"crypto/rand"
	"encoding/hex"
)

// Resource id prefixes.
const (
	PrefixInstance    = "i-"
	PrefixReservation = "r-"
	PrefixImage       = "ami-"
)

// NewID returns prefix followed by 17 random lowercase hex digits, the form
// of every current EC2 id.
func NewID(prefix string) string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("cloud: no randomness: " + err.Error())
	}
	return prefix + hex.EncodeToString(b[:])[:17]
}

// ValidID reports whether id is prefix followed by 8 or 17 lowercase hex
// digits: the current form and the older short one that EC2 still accepts.
func ValidID(prefix, id string) bool {
	if len(id) <= len(prefix) || id[:len(prefix)] != prefix {
		return false
	}
	digits := id[len(prefix):]
	if len(digits) != 8 && len(digits) != 17 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
