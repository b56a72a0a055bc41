package hypervisor

import (
	"context"
	"reflect"
	"testing"
)

func TestParseQuestion(t *testing.T) {
	choices := []Choice{{0, "Cancel", false}, {1, "I _moved it", false}, {2, "I _copied it", true}}
	for _, name := range fixtures(t, "question") {
		t.Run(name, func(t *testing.T) {
			q, ok := parseQuestion(fixture(t, name))
			checkGolden(t, name, q)
			if name == "question/none.txt" {
				if ok {
					t.Errorf("got a question from %q", fixture(t, name))
				}
				return
			}
			if !ok || q.Key != "msg.uuid.altered" || !reflect.DeepEqual(q.Choices, choices) {
				t.Errorf("got %+v, %v", q, ok)
			}
		})
	}

	t.Run("Text", func(t *testing.T) {
		q, _ := parseQuestion(fixture(t, "question/uuid-altered-full.txt"))
		if q.ID != "_vmx1" || q.Text[:53] != "This virtual machine might have been moved or copied." {
			t.Errorf("got id %q text %q", q.ID, q.Text)
		}
	})
}

func TestESXi_Answer(t *testing.T) {
	h := newStubHost(t)
	h.onFixture("question/uuid-altered-reference.txt", 0, "vim-cmd", "vmsvc/message", "6")
	h.on("", 0, "vim-cmd", "vmsvc/message", "6", "12", "2")
	d := h.driver()
	q, err := d.Question(context.Background(), "6")
	if err != nil || q == nil || q.ID != "12" {
		t.Fatalf("got %+v, %v", q, err)
	}
	if err := d.Answer(context.Background(), "6", q.ID, 2); err != nil {
		t.Fatal(err)
	}
}
