package ec2

import "sort"

// Actions returns the name of every action the handler answers, sorted.
// Tests walk it to hold each action to rules that apply to all of them,
// such as DryRun on every action that changes something.
func Actions() []string {
	names := make([]string, 0, len(actions))
	for name := range actions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
