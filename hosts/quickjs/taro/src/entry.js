// What a Taro weapp build puts in front of the app: the platform plugin's
// runtime (it registers initNativeApi: processApis(taro, wx, ...)), then
// @tarojs/taro, which runs it. Taro.request, interceptors and the promise
// wrapping are Taro's own code, calling the host's wx.request.
import './mini-globals.js'
import '@tarojs/plugin-platform-weapp/dist/runtime'
import Taro from '@tarojs/taro'

globalThis.Taro = Taro
