// Package version holds the one version string of Sundial: `sundial
// version`, the startup line, GetSystemInfo and GetClusterInfo all report it.
package version

// Version is the server version. It follows the Temporal server release
// whose API Sundial serves (the SDKs and the CLI compare server versions to
// decide what they may use), with "-sundial" to tell the two apart.
const Version = "1.31.0-sundial"
