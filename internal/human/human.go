// Package human writes numbers as people read them: byte sizes in binary
// units. The CLI's output and the reports share it.
package human

import "fmt"

// Bytes writes n bytes with a binary unit and one decimal: "512 B", "1.5 KiB",
// "3.2 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
