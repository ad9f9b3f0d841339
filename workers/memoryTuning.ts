/**
 * Imported first by worker entry points. V8 grows the heap by up to four times what survives each
 * full collection; a worker's heap is mostly short-lived answers and rows, so that lets its
 * resident size climb well past what it needs. Growing by half keeps it small but collects the old
 * generation so often during a fast run that each collection stalls the answers arriving
 * meanwhile; doubling sits between the two (the figures behind the choice are in bench/README.md,
 * throughput and scale).
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--heap-growing-percent=100');
