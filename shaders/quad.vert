// quad.vert: one rectangle from a unit quad. dst maps the quad's corners
// to clip space (x, y, width, height); src maps them to texture
// coordinates. Target row 0 is window row 0 (no flip): dma-buf memory and
// glReadPixels both start at row 0. turn turns the picture's clip space
// into the target's (a frame drawn turned: rows (turn.xy, turn.zw) of a
// matrix of 0 and ±1; (1, 0, 0, 1) upright).
attribute vec2 corner;
uniform vec4 dst;
uniform vec4 src;
uniform vec4 turn;
varying vec2 uv;

void main() {
	uv = src.xy + corner * src.zw;
	vec2 p = dst.xy + corner * dst.zw;
	gl_Position = vec4(dot(turn.xy, p), dot(turn.zw, p), 0.0, 1.0);
}
