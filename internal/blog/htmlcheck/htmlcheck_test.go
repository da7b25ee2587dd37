package htmlcheck

import "testing"

func TestCheckFindsStructuralProblems(t *testing.T) {
	const ok = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>a<b{}</style></head><body><p id="a">x<br></p><!-- <div> --></body></html>`
	tests := []struct {
		name, doc string
		wantErr   bool
	}{
		{"valid document", ok, false},
		{"unclosed element", `<!DOCTYPE html><html lang="en"><body><div></body></html>`, true},
		{"duplicate ids", `<!DOCTYPE html><html lang="en"><p id="a"></p><p id="a"></p></html>`, true},
		{"missing lang", `<!DOCTYPE html><html><body></body></html>`, true},
		{"missing doctype", `<html lang="en"></html>`, true},
		{"stray end tag", `<!DOCTYPE html><html lang="en"></p></html>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.doc); (err != nil) != tt.wantErr {
				t.Errorf("Check = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
