package source

// Internals of s3.go for the tests of package source_test.
var (
	FolderTime = folderTime
	KeyTime    = keyTime
	Overlaps   = TimeRange.overlaps
)
