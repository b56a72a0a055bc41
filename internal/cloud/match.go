package cloud

// Match reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' matches exactly one. A backslash
// makes the character after it literal, so `\*amazon\?\\` matches the
// text `*amazon?\`. EC2 filter values use these rules.
func Match(pattern, s string) bool {
	// Iterative matching with a single backtrack point for the last '*':
	// linear in practice and never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		lit, width := literalAt(pattern, p)
		switch {
		case p < len(pattern) && !lit && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (!lit && pattern[p] == '?' || pattern[p+width-1] == s[i]):
			p += width
			i++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// literalAt reports whether the pattern character at p is escaped by a
// backslash, and how many bytes it takes: 2 for an escape, else 1. A
// backslash at the very end stands for itself.
func literalAt(pattern string, p int) (bool, int) {
	if p < len(pattern)-1 && pattern[p] == '\\' {
		return true, 2
	}
	return false, 1
}

// MatchAny reports whether s matches any of the patterns.
func MatchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}
