// exit: 1
// stderr: did not finish within 200 ms
// A test that waits too long fails through its watchdog.
import { watchdog } from '../assert.js'

watchdog(200)
wx.request({ url: scriptArgs[1] + '/stall' })
