package ec2

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// actionsPage is the page listing every action the API answers.
const actionsPage = "../../docs/actions.md"

// docRow is one row of a table of actions on the page.
type docRow struct {
	section string // the heading above the table
	action  string
	cells   []string // the cells after the action's
	line    int
}

// readActionsPage returns the rows of the page's tables whose first cell
// is an action name in backquotes.
func readActionsPage(t *testing.T) []docRow {
	t.Helper()
	f, err := os.Open(actionsPage)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []docRow
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, docRow{
			section: section, action: strings.Trim(cells[0], "`"), cells: cells[1:], line: n,
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestDocs_Actions holds docs/actions.md to the action map: each action
// the API answers has one row under "Answered" saying what it acts on;
// no row there names an action it does not answer; and none of the
// actions listed under "Not answered" is answered.
func TestDocs_Actions(t *testing.T) {
	rows := readActionsPage(t)
	kinds := []string{"VM", "state", "read"}
	documented := map[string]int{}
	for _, r := range rows {
		_, answered := actions[r.action]
		switch r.section {
		case "Answered":
			documented[r.action]++
			if !answered {
				t.Errorf("%s:%d: %s is listed as answered, but the API has no such action",
					actionsPage, r.line, r.action)
			}
			if len(r.cells) != 2 || !slices.Contains(kinds, r.cells[0]) || r.cells[1] == "" {
				t.Errorf("%s:%d: %s's row must say what it acts on (%s) and what it does",
					actionsPage, r.line, r.action, strings.Join(kinds, ", "))
			}
		case "Not answered":
			if answered {
				t.Errorf("%s:%d: %s is answered now: move its row to the answered table",
					actionsPage, r.line, r.action)
			}
		default:
			t.Errorf("%s:%d: a table of actions under %q, which the test does not know",
				actionsPage, r.line, r.section)
		}
	}
	for _, name := range Actions() {
		switch documented[name] {
		case 0:
			t.Errorf("%s has no row for %s: add one saying what it acts on", actionsPage, name)
		case 1:
		default:
			t.Errorf("%s lists %s %d times", actionsPage, name, documented[name])
		}
	}
}

// TestDocs_ActionsReader checks that the page reader finds rows, so that
// a page it cannot parse fails rather than passes empty.
func TestDocs_ActionsReader(t *testing.T) {
	rows := readActionsPage(t)
	var answered, not int
	for _, r := range rows {
		switch r.section {
		case "Answered":
			answered++
		case "Not answered":
			not++
		}
	}
	if answered < len(actions) || not == 0 {
		t.Errorf("read %d answered and %d unanswered rows from %s", answered, not, actionsPage)
	}
}
