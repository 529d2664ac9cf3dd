// solid.frag: a solid, premultiplied colour (Clear, FillRect).
precision mediump float;

uniform vec4 color;

void main() {
	gl_FragColor = color;
}
