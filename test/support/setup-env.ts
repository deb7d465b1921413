// The SDK's notice that releases after January 2027 need Node 22 is known (README,
// "Runtime versions"); keep it out of every test's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
