package conversation

import (
	"context"
	"fmt"
	"testing"
)

func TestRecentReturnsTheLastEntriesOldestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newEnv(t, nil).svc
	rc, err := s.Receive(ctx, sms("+14155550100", "m0", "SMrecent0"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 30; i++ {
		if _, err := s.Receive(ctx, sms("+14155550100", fmt.Sprintf("m%d", i), fmt.Sprintf("SMrecent%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Recent(ctx, rc.ConversationID, 5)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range got {
		if e.Type == EntryCustomer {
			texts = append(texts, e.Text)
		}
	}
	if fmt.Sprint(texts) != "[m25 m26 m27 m28 m29]" {
		t.Fatalf("recent customer texts %v", texts)
	}
}
