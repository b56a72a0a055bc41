package hypervisor

import (
	"context"
	"regexp"
	"strconv"
	"strings"
)

// Question is a question a VM asks and waits on, such as whether it was
// moved or copied (msg.uuid.altered). A pending question blocks power.on
// until it is answered.
type Question struct {
	ID      string // the question's id, as "12" or "_vmx1"
	Key     string // what is asked, as "msg.uuid.altered"
	Text    string // the question as the host words it
	Choices []Choice
}

// Choice is one possible answer to a Question.
type Choice struct {
	Index   int    // what Answer takes
	Label   string // as "I _copied it"; "_" marks the shortcut letter
	Default bool
}

var (
	questionHeadRE = regexp.MustCompile(`^Virtual machine message (\S+):$`)
	questionKeyRE  = regexp.MustCompile(`^([\w.]+):(.*)$`)
	choiceRE       = regexp.MustCompile(`^\s+(\d+)\.\s+(.*?)(\s+\[default\])?$`)
)

// parseQuestion reads `vim-cmd vmsvc/message VMID`. It returns false when
// the VM asks nothing ("No message.").
func parseQuestion(out string) (Question, bool) {
	var q Question
	found := false
	var text []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, " \r")
		if m := questionHeadRE.FindStringSubmatch(line); m != nil {
			q, found, text = Question{ID: m[1]}, true, nil
			continue
		}
		if !found {
			continue
		}
		if m := choiceRE.FindStringSubmatch(line); m != nil {
			i, _ := strconv.Atoi(m[1])
			label, _, _ := strings.Cut(m[2], " (")
			q.Choices = append(q.Choices, Choice{Index: i, Label: label, Default: m[3] != ""})
			continue
		}
		if m := questionKeyRE.FindStringSubmatch(line); m != nil && q.Key == "" {
			q.Key, line = m[1], m[2]
		}
		text = append(text, line)
	}
	q.Text = strings.TrimSpace(strings.Join(text, "\n"))
	return q, found
}

// Question returns the question VM vmid is waiting on, or nil if none.
func (d *ESXi) Question(ctx context.Context, vmid string) (*Question, error) {
	res, err := d.execOK(ctx, "get question", "vim-cmd vmsvc/message "+Quote(vmid), nil)
	if err != nil {
		return nil, err
	}
	q, ok := parseQuestion(string(res.Stdout))
	if !ok {
		return nil, nil
	}
	return &q, nil
}

// Answer answers question id of VM vmid with the choice of that index.
// VMs made by CreateFiles never ask whether they were copied; this is for
// VMs that came from elsewhere.
func (d *ESXi) Answer(ctx context.Context, vmid, id string, choice int) error {
	cmd := "vim-cmd vmsvc/message " + Quote(vmid) + " " + Quote(id) + " " +
		Quote(strconv.Itoa(choice))
	_, err := d.execOK(ctx, "answer question", cmd, nil)
	return err
}
