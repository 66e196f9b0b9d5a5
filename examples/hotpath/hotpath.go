// Package hotpath is heaplens's demonstration module: every kind of escape heaplens
// explains, and every fix it offers, in a few small functions.
package hotpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Config is returned by pointer, so it cannot live in NewConfig's frame.
type Config struct {
	Name    string
	Retries int
}

// NewConfig: &Config{...} escapes to heap, returned to the caller.
func NewConfig(name string) *Config {
	return &Config{Name: name, Retries: 3}
}

var defaultConfig *Config

// SetDefault: the new Config is stored in a package variable.
func SetDefault(name string) {
	c := &Config{Name: name}
	defaultConfig = c
}

// Counter: n is captured by a closure that outlives the call, so n moves to the heap.
func Counter() func() int {
	n := 0
	return func() int {
		n++
		return n
	}
}

// Label: n is converted to an interface for fmt.Sprintf.
func Label(n int) string {
	return fmt.Sprintf("item-%d", n)
}

// Squares builds a slice with append in a counted loop: preallocate it.
func Squares(xs []int) []int {
	var out []int
	for _, x := range xs {
		out = append(out, x*x)
	}
	return out
}

// Encode uses a scratch buffer per call that escapes into json.NewEncoder: pool it.
func Encode(w io.Writer, v any) error {
	buf := &bytes.Buffer{}
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Shape is an interface; passing a Rect through it boxes the Rect on the heap.
type Shape interface {
	Area() float64
}

// Rect is a small value type.
type Rect struct{ W, H float64 }

// Area implements Shape.
func (r Rect) Area() float64 { return r.W * r.H }

// TotalArea takes an interface parameter: its argument escapes at every call site.
// Making s a type parameter keeps callers' values on the stack.
//
//go:noinline
func TotalArea(s Shape) float64 {
	return s.Area() * 2
}

// Room calls TotalArea with Rects, which escape to the heap because of the interface.
func Room(w, h float64) float64 {
	floor := Rect{W: w, H: h}
	wall := Rect{W: w, H: 3}
	return TotalArea(floor) + 4*TotalArea(wall)
}

// Grid's scratch table is too large for the stack.
func Grid(n int) int64 {
	cells := make([]int64, 1<<17)
	for i := range cells {
		cells[i] = int64(i * n)
	}
	return cells[n]
}
