package ngxconf

import "strings"

// Dump renders cfg's files as nginx -T prints them: for each file read, in
// read order, "# configuration file PATH:", its bytes, and one newline.
func Dump(cfg *Config) string {
	var b strings.Builder
	for _, f := range cfg.Files {
		b.WriteString("# configuration file ")
		b.WriteString(f.Path)
		b.WriteString(":\n")
		b.Write(f.Data)
		b.WriteString("\n")
	}
	return b.String()
}
