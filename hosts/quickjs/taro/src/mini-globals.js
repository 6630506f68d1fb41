// The mini-program globals Taro's weapp runtime reads when it starts
// (equipCommonApis in @tarojs/shared), where the host has none: a page
// stack and an app object. `wx` comes from the host.
if (typeof globalThis.getCurrentPages !== 'function') globalThis.getCurrentPages = () => []
if (typeof globalThis.getApp !== 'function') globalThis.getApp = () => ({})
