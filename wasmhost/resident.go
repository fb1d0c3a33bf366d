package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
)

// Compiled-module eviction. Under Config.MaxCompiledModules, compiled
// modules that no invocation is using are closed, least recently used
// first, and compiled again from their bytes on next use; with CacheDir
// the bytes wait on disk (modulesDir) and wazero's compilation cache turns
// the recompilation into a load (~40 ms instead of ~0.8 s for a Go guest).
// Evicting a compiled module also closes the idle instances of the Modules
// using it, since an instance keeps its module's machine code alive.
//
// State of a compiled (guarded by Host.mu): cm is non-nil while resident,
// and then elem is its place in Host.resident (front: most recently used);
// active counts the invocations, validations and instance starts using
// cm, which is never evicted while active > 0; loading is non-nil while a
// recompilation runs.

// modulesDir is where module bytes wait for recompilation, under CacheDir.
const modulesDir = "wasmhost-modules"

// keepBytes stores wasm so that an evicted compiled module can come back:
// in CacheDir when there is one, in memory otherwise. Nothing is kept when
// compiled modules are never evicted.
func (h *Host) keepBytes(c *compiled, wasm []byte) error {
	if h.cfg.MaxCompiledModules <= 0 {
		return nil
	}
	if h.cfg.CacheDir == "" {
		c.wasm = bytes.Clone(wasm)
		return nil
	}
	dir := filepath.Join(h.cfg.CacheDir, modulesDir)
	path := filepath.Join(dir, c.hash+".wasm")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("wasmhost: keeping module bytes: %w", err)
	}
	tmp, err := os.CreateTemp(dir, c.hash+".tmp*")
	if err != nil {
		return fmt.Errorf("wasmhost: keeping module bytes: %w", err)
	}
	_, werr := tmp.Write(wasm)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("wasmhost: keeping module bytes: %v %v", werr, cerr)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("wasmhost: keeping module bytes: %w", err)
	}
	return nil
}

// bytesOf returns the bytes keepBytes stored, checked against the hash.
func (h *Host) bytesOf(c *compiled) ([]byte, error) {
	if c.wasm != nil {
		return c.wasm, nil
	}
	wasm, err := os.ReadFile(filepath.Join(h.cfg.CacheDir, modulesDir, c.hash+".wasm"))
	if err != nil {
		return nil, fmt.Errorf("wasmhost: reading evicted module: %w", err)
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != c.hash {
		return nil, fmt.Errorf("wasmhost: evicted module %s changed on disk", c.hash)
	}
	return wasm, nil
}

// use marks c in use and returns its compiled module, compiling it again
// if it was evicted. The caller must call done(c) when finished with it.
// Compiling an evicted module again is the host's doing, so it is bounded
// by LoadTimeout (and ctx), not by the plugin's own budget.
func (h *Host) use(ctx context.Context, c *compiled) (wazero.CompiledModule, error) {
	h.mu.Lock()
	if c.cm != nil && !h.closed {
		c.active++
		h.resident.MoveToFront(c.elem)
		cm := c.cm
		h.mu.Unlock()
		return cm, nil
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, h.cfg.LoadTimeout)
	defer cancel()
	h.mu.Lock()
	for {
		if h.closed {
			h.mu.Unlock()
			return nil, &Error{Kind: ErrClosed}
		}
		if c.cm != nil {
			c.active++
			h.resident.MoveToFront(c.elem)
			cm := c.cm
			h.mu.Unlock()
			return cm, nil
		}
		if c.loading == nil {
			break
		}
		wait := c.loading
		h.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("wasmhost: waiting for recompilation: %w", ctx.Err())
		}
		h.mu.Lock()
	}
	loading := make(chan struct{})
	c.loading = loading
	h.mu.Unlock()

	cm, err := h.recompile(ctx, c)

	h.mu.Lock()
	c.loading = nil
	close(loading)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	if h.closed || c.refs == 0 {
		// Unloaded meanwhile: nobody will use or close it.
		h.mu.Unlock()
		cm.Close(context.Background())
		return nil, &Error{Kind: ErrClosed}
	}
	h.recompiles++
	c.cm = cm
	c.active++
	c.elem = h.resident.PushFront(c)
	victims := h.evictLocked()
	h.mu.Unlock()
	h.closeEvicted(victims)
	return cm, nil
}

func (h *Host) recompile(ctx context.Context, c *compiled) (wazero.CompiledModule, error) {
	wasm, err := h.bytesOf(c)
	if err != nil {
		return nil, err
	}
	cm, err := h.compile(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("wasmhost: recompiling evicted module %s: %w", c.hash, err)
	}
	return cm, nil
}

// done ends a use of c, and evicts what the budget no longer allows.
func (h *Host) done(c *compiled) {
	h.mu.Lock()
	c.active--
	victims := h.evictLocked()
	h.mu.Unlock()
	h.closeEvicted(victims)
}

// evicted is a compiled module taken out of memory and the Modules whose
// idle instances must go with it.
type evicted struct {
	cm    wazero.CompiledModule
	users []*Module
}

// evictLocked takes the least recently used compiled modules that are not
// in use out of the resident list while there are more than the budget;
// h.mu is held. The caller closes them with closeEvicted.
func (h *Host) evictLocked() []evicted {
	limit := h.cfg.MaxCompiledModules
	if limit <= 0 || h.resident.Len() <= limit {
		return nil
	}
	var out []evicted
	for e := h.resident.Back(); e != nil && h.resident.Len() > limit; {
		c := e.Value.(*compiled)
		prev := e.Prev()
		if c.active == 0 {
			h.resident.Remove(e)
			ev := evicted{cm: c.cm}
			for m := range h.modules {
				if m.c == c {
					ev.users = append(ev.users, m)
				}
			}
			c.cm, c.elem = nil, nil
			h.evictions++
			out = append(out, ev)
		}
		e = prev
	}
	return out
}

func (h *Host) closeEvicted(victims []evicted) {
	for _, v := range victims {
		for _, m := range v.users {
			m.group.CloseIdle()
		}
		v.cm.Close(context.Background())
	}
}

// residentCode returns c's compiled module; the caller holds a use of c.
func (h *Host) residentCode(c *compiled) wazero.CompiledModule {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.cm
}

func (h *Host) isResident(c *compiled) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.cm != nil
}
