// exit: 1
// stderr: ^Uncaught AssertionError: not equal: expected 2, got 1$
// The tests' assert helper fails a test by exiting non-zero.
import { equal } from '../assert.js'

equal(1, 2)
