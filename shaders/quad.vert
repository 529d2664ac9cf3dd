// quad.vert: one rectangle from a unit quad. dst maps the quad's corners
// to clip space (x, y, width, height); src maps them to texture
// coordinates. Target row 0 is window row 0 (no flip): dma-buf memory and
// glReadPixels both start at row 0.
attribute vec2 corner;
uniform vec4 dst;
uniform vec4 src;
varying vec2 uv;

void main() {
	uv = src.xy + corner * src.zw;
	gl_Position = vec4(dst.xy + corner * dst.zw, 0.0, 1.0);
}
