package main

import (
	"context"
	"errors"
)

func runScore(ctx context.Context, e *env, args []string) error { return errors.New("WIP") }
func runDemo(ctx context.Context, e *env, args []string) error  { return errors.New("WIP") }
