package query

// Operators of Sumo Logic's language that Mamori does not run yet: they
// parse to a clear error instead of "unknown operator".
func init() {
	registerStage(parseUnsupported,
		"compare", "save", "cat", "accum", "backshift",
		"diff", "rollingstd", "smooth", "predict", "geoip", "geo", "threatip", "sessionize", "trace", "merge")
}

func parseUnsupported(p *parser, name string, start int) Stage {
	p.errorf(start, "operator %s is not supported yet", quote(name))
	return nil
}
