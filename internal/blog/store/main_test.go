package store

import (
	"testing"

	"go.uber.org/goleak"
)

// chroma's regexp engine (regexp2) keeps one process-wide clock goroutine
// for match timeouts while highlighting runs; it is the library's, not a
// leak of ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/dlclark/regexp2/v2.runClock"))
}
