package gles

import (
	"unsafe"

	"github.com/minicomp/minicomp/backend"
)

// setTurn sets the program's turn uniform (quad.vert) for frames drawn
// turned by xf into t (GL thread; p is the program in use): the
// picture's clip space maps to the target's by the inverse of xf's
// Affine, which for these turns and flips is its transpose, and the
// offsets vanish because clip space is centred.
func (r *Renderer) setTurn(p *program, xf backend.Transform, t *target) {
	xx, xy, _, yx, yy, _ := xf.Affine(t.w, t.h)
	r.u4 = [4]float32{float32(xx), float32(yx), float32(xy), float32(yy)}
	r.fc.Call(r.l.glUniform4fv, uintptr(p.turn), 1, uintptr(unsafe.Pointer(&r.u4[0])))
	p.xf = xf
}
