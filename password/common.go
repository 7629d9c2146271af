package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonList holds the entries of 12 to 128 characters, one a line, in
// rank order, from the passwords dictionary of the npm package
// @zxcvbn-ts/language-common 4.1.3 (src/passwords.json, 49,233 lower-case
// entries; sha256 f422773d94d630f27e08b26d7017e847bb1feb2a84809340e9c0b0c47b33e3f1),
// https://github.com/zxcvbn-ts/zxcvbn. MIT licence, Copyright (c) 2012-2016
// Dan Wheeler and Dropbox, Inc., Copyright (c) 2021 @zxcvbn-ts; the full
// notice, which must travel with the list, is common-passwords-LICENSE.txt.
//
// Shorter entries are left out because Validate rejects them by length
// first. Lowering MinLength means extracting the list again with the new
// bound; TestCommonList fails until then.
//
//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// isCommon reports whether plain, in lower case, is on the list. The set is
// built on first use so that binaries and tests that never validate a
// password do not pay for it.
func isCommon(plain string) bool {
	commonOnce.Do(func() {
		lines := strings.Fields(commonList)
		commonSet = make(map[string]struct{}, len(lines))
		for _, l := range lines {
			commonSet[l] = struct{}{}
		}
	})
	_, ok := commonSet[strings.ToLower(plain)]
	return ok
}
