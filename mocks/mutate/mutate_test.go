package mutate

import "testing"

func TestOneMutationAtATime(t *testing.T) {
	if On(KFPAllowAll) {
		t.Fatal("a mutation is on before any test turned it on")
	}
	if _, err := Enable("no-such-bug"); err == nil {
		t.Fatal("an unknown mutation was turned on")
	}
	restore, err := Enable(KFPAllowAll)
	if err != nil {
		t.Fatal(err)
	}
	if !On(KFPAllowAll) || On(KubeIgnoreVerbs) {
		t.Fatal("Enable turned on the wrong switch")
	}
	if _, err := Enable(KubeIgnoreVerbs); err == nil {
		t.Fatal("a second mutation was turned on")
	}
	restore()
	if On(KFPAllowAll) {
		t.Fatal("restore left the mutation on")
	}
}
