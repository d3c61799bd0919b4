package stream

import (
	"context"
	"testing"

	"github.com/riscd/riscd/googlesim"
)

// BenchmarkStatus is one authenticated status read against googlesim over
// loopback: JWT reuse, the request, googlesim's signature check.
func BenchmarkStatus(b *testing.B) {
	sim := newSim(b, nil)
	if err := sim.ConfigureStream("https://riscd.example.com/risc", googlesim.StreamEventTypes()); err != nil {
		b.Fatal(err)
	}
	c, _ := newClient(b, sim)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Status(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate is stream:update and its read-back.
func BenchmarkUpdate(b *testing.B) {
	sim := newSim(b, nil)
	c, _ := newClient(b, sim)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := c.Update(ctx, "https://riscd.example.com/risc", googlesim.StreamEventTypes()); err != nil {
			b.Fatal(err)
		}
	}
}
