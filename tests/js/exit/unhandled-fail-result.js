// exit: 1
// stderr: ^Uncaught \(in promise\) \{"errMsg":"request:fail parameter error: parameter.url should be String instead of Undefined;"\}$
// Taro.request's rejection with a fail result, not handled.
Taro.request({})
