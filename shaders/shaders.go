// Package shaders holds minicomp's GLSL ES 1.00 shader sources (they
// compile on GLES 2.0 and 3.x): a quad vertex shader, textured quads
// (RGBA, RGBX, swapped red/blue), external-OES textures and solid colour.
//
// The files carry no #version line: Source prepends it and the variant's
// #defines, and Line maps a compiler's line number back to the file.
package shaders

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed *.vert *.frag
var files embed.FS

// Names of the shader files.
const (
	QuadVert     = "quad.vert"
	TexFrag      = "tex.frag"
	ExternalFrag = "external.frag"
	SolidFrag    = "solid.frag"
)

// Version is the GLSL ES version every shader is written for.
const Version = "#version 100\n"

// Source returns the shader file name with the #version line and a
// "#define D 1" line per define prepended, and how many lines were
// prepended (for Line).
func Source(name string, defines ...string) (src string, prepended int, err error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", 0, fmt.Errorf("shaders: no shader %q", name)
	}
	return Prepend(string(b), defines...)
}

// Prepend is Source for a text that is not one of the files (tests feed
// broken shaders through the same path).
func Prepend(text string, defines ...string) (src string, prepended int, err error) {
	var sb strings.Builder
	sb.WriteString(Version)
	for _, d := range defines {
		if d == "" || strings.ContainsAny(d, " \n\t") {
			return "", 0, fmt.Errorf("shaders: bad define %q", d)
		}
		fmt.Fprintf(&sb, "#define %s 1\n", d)
	}
	prepended = 1 + len(defines)
	sb.WriteString(text)
	return sb.String(), prepended, nil
}

// Names lists the shader files.
func Names() []string {
	entries, _ := files.ReadDir(".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
