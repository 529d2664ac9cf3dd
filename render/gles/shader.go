package gles

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/shaders"
)

// Programs: textured quads by (external, swap, opaque), then solid colour.
const (
	progTex   = 0 // + 2*swap + opaque
	progExt   = 4 // + 2*swap + opaque
	progSolid = 8
	progCount = 9
)

type program struct {
	id                                uint32
	dst, src, alpha, color, tex, turn int32
	xf                                backend.Transform // what turn holds
}

// sourceOverride replaces a shader file's text (tests feed broken shaders
// through the real build).
var sourceOverride map[string]string

func texDefines(swap, opaque bool) []string {
	var d []string
	if swap {
		d = append(d, "SWAP")
	}
	if opaque {
		d = append(d, "OPAQUE")
	}
	return d
}

// buildPrograms compiles and links every program once (GL thread).
func (r *Renderer) buildPrograms() error {
	vs, err := r.compile(shaders.QuadVert, glVertexShader)
	if err != nil {
		return err
	}
	defer dl.Call(r.l.glDeleteShader, uintptr(vs))
	for i := range 4 {
		if r.progs[progTex+i], err = r.link(vs, shaders.TexFrag, texDefines(i&2 != 0, i&1 != 0)); err != nil {
			return err
		}
	}
	if r.info.ExternalOES {
		for i := range 4 {
			p, err := r.link(vs, shaders.ExternalFrag, texDefines(i&2 != 0, i&1 != 0))
			if err != nil {
				// Only external-only client buffers need it: say so, go on.
				r.log.Warn("gles: external-OES shader unusable; such client buffers will be refused", "err", err)
				r.info.ExternalOES = false
				break
			}
			r.progs[progExt+i] = p
		}
	}
	r.progs[progSolid], err = r.link(vs, shaders.SolidFrag, nil)
	return err
}

// compile compiles one shader file with defines; errors name the file,
// the variant and the line, with the offending source line quoted.
func (r *Renderer) compile(name string, stage uint32, defines ...string) (uint32, error) {
	var src string
	var pre int
	var err error
	if text, ok := sourceOverride[name]; ok {
		src, pre, err = shaders.Prepend(text, defines...)
	} else {
		src, pre, err = shaders.Source(name, defines...)
	}
	if err != nil {
		return 0, &Error{Call: "compile " + name, Msg: err.Error(), Err: ErrShaderCompile}
	}
	return r.compileSource(name, stage, src, pre, defines)
}

// compileSource compiles src (prepended lines before the file's line 1).
func (r *Renderer) compileSource(name string, stage uint32, src string, prepended int, defines []string) (uint32, error) {
	l := r.l
	sh := uint32(dl.Call(l.glCreateShader, uintptr(stage)))
	if sh == 0 {
		return 0, r.glCheckOr("glCreateShader "+name, ErrShaderCompile)
	}
	b := []byte(src)
	ptrs := []uintptr{uintptr(unsafe.Pointer(&b[0]))}
	lens := []int32{int32(len(b))}
	dl.Call(l.glShaderSource, uintptr(sh), 1, uintptr(unsafe.Pointer(&ptrs[0])), uintptr(unsafe.Pointer(&lens[0])))
	runtime.KeepAlive(b)
	dl.Call(l.glCompileShader, uintptr(sh))
	var ok int32
	dl.Call(l.glGetShaderiv, uintptr(sh), glCompileStatus, uintptr(unsafe.Pointer(&ok)))
	if ok != 0 {
		return sh, nil
	}
	log := r.infoLog(l.glGetShaderiv, l.glGetShaderInfoLog, sh)
	dl.Call(l.glDeleteShader, uintptr(sh))
	variant := ""
	if len(defines) > 0 {
		variant = " [" + strings.Join(defines, " ") + "]"
	}
	return 0, &Error{Call: "glCompileShader " + name + variant,
		Msg: "\n" + ReadableLog(name, log, src, prepended), Err: ErrShaderCompile}
}

// link compiles fragment shader frag with defines and links it with vs.
func (r *Renderer) link(vs uint32, frag string, defines []string) (program, error) {
	l := r.l
	fs, err := r.compile(frag, glFragmentShader, defines...)
	if err != nil {
		return program{}, err
	}
	defer dl.Call(l.glDeleteShader, uintptr(fs))
	id := uint32(dl.Call(l.glCreateProgram))
	dl.Call(l.glAttachShader, uintptr(id), uintptr(vs))
	dl.Call(l.glAttachShader, uintptr(id), uintptr(fs))
	attr := dl.CString("corner")
	dl.Call(l.glBindAttribLocation, uintptr(id), 0, uintptr(unsafe.Pointer(&attr[0])))
	runtime.KeepAlive(attr)
	dl.Call(l.glLinkProgram, uintptr(id))
	var ok int32
	dl.Call(l.glGetProgramiv, uintptr(id), glLinkStatus, uintptr(unsafe.Pointer(&ok)))
	if ok == 0 {
		log := r.infoLog(l.glGetProgramiv, l.glGetProgramInfoLog, id)
		dl.Call(l.glDeleteProgram, uintptr(id))
		return program{}, &Error{Call: fmt.Sprintf("glLinkProgram %s+%s %v", "quad.vert", frag, defines), Msg: strings.TrimSpace(log), Err: ErrShaderCompile}
	}
	p := program{id: id}
	loc := func(n string) int32 {
		b := dl.CString(n)
		v := int32(dl.Call(l.glGetUniformLocation, uintptr(id), uintptr(unsafe.Pointer(&b[0]))))
		runtime.KeepAlive(b)
		return v
	}
	p.dst, p.src, p.alpha, p.color, p.tex, p.turn = loc("dst"), loc("src"), loc("alpha"), loc("color"), loc("tex"), loc("turn")
	dl.Call(l.glUseProgram, uintptr(id))
	if p.tex >= 0 {
		dl.Call(l.glUniform1i, uintptr(p.tex), 0)
	}
	upright := [4]float32{1, 0, 0, 1}
	dl.Call(l.glUniform4fv, uintptr(p.turn), 1, uintptr(unsafe.Pointer(&upright[0])))
	dl.Call(l.glUseProgram, 0)
	return p, r.glCheck("link " + frag)
}

func (r *Renderer) infoLog(getiv, getLog uintptr, obj uint32) string {
	var n int32
	dl.Call(getiv, uintptr(obj), glInfoLogLength, uintptr(unsafe.Pointer(&n)))
	if n <= 1 {
		return "(no info log)"
	}
	buf := make([]byte, n)
	dl.Call(getLog, uintptr(obj), uintptr(n), 0, uintptr(unsafe.Pointer(&buf[0])))
	return strings.TrimRight(string(buf), "\x00\n")
}

func (r *Renderer) glCheckOr(what string, sentinel error) error {
	if err := r.glCheck(what); err != nil {
		return err
	}
	return &Error{Call: what, Msg: "returned 0", Err: sentinel}
}

// Compiler info logs: Mesa "0:12(5): error: …", others "ERROR: 0:12: …".
var logLine = regexp.MustCompile(`^(?:ERROR: |WARNING: )?(\d+):(\d+)(?:\((\d+)\))?: ?(.*)$`)

// ReadableLog rewrites a GLSL compiler log so each message names the
// shader file and its own line number (not the line in the prepended
// source), followed by that source line.
func ReadableLog(name, log, src string, prepended int) string {
	lines := strings.Split(src, "\n")
	var sb strings.Builder
	for _, m := range strings.Split(strings.TrimSpace(log), "\n") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		sub := logLine.FindStringSubmatch(m)
		if sub == nil {
			fmt.Fprintf(&sb, "%s: %s\n", name, m)
			continue
		}
		n, _ := strconv.Atoi(sub[2])
		fileLine := n - prepended
		col := ""
		if sub[3] != "" {
			col = ":" + sub[3]
		}
		if fileLine < 1 {
			fmt.Fprintf(&sb, "%s (prepended line %d%s): %s\n", name, n, col, sub[4])
			continue
		}
		fmt.Fprintf(&sb, "%s:%d%s: %s\n", name, fileLine, col, sub[4])
		if n-1 < len(lines) {
			fmt.Fprintf(&sb, "\t%d | %s\n", fileLine, strings.TrimSpace(lines[n-1]))
		}
	}
	return strings.TrimRight(sb.String(), "\n")
}
