package shaders_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/minicomp/minicomp/shaders"
)

// The textured-quad shader for an opaque texture, as the GLES renderer
// compiles it: #version and the variant's defines come first, and
// compiler line numbers are the file's plus the lines prepended.
func ExampleSource() {
	src, prepended, err := shaders.Source(shaders.TexFrag, "OPAQUE")
	if err != nil {
		log.Fatal(err)
	}
	lines := strings.SplitN(src, "\n", 3)
	fmt.Println(lines[0])
	fmt.Println(lines[1])
	fmt.Println(prepended)
	// Output:
	// #version 100
	// #define OPAQUE 1
	// 2
}
