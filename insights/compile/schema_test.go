package compile

// testSchema is the vpc_flow_logs view of DESIGN §3, as the flowlog package
// describes it to callers of Compile.
var testSchema = NewSchema(testColumns)

var testColumns = []Column{
	{Name: "version", Type: "INTEGER"},
	{Name: "account_id", Type: "VARCHAR"},
	{Name: "interface_id", Type: "VARCHAR"},
	{Name: "srcaddr", Type: "VARCHAR"},
	{Name: "dstaddr", Type: "VARCHAR"},
	{Name: "srcport", Type: "INTEGER"},
	{Name: "dstport", Type: "INTEGER"},
	{Name: "protocol", Type: "INTEGER"},
	{Name: "packets", Type: "BIGINT"},
	{Name: "bytes", Type: "BIGINT"},
	{Name: "start", Type: "BIGINT", Aliases: []string{"startTime", "windowstart"}},
	{Name: "end", Type: "BIGINT", Aliases: []string{"endTime", "windowend"}},
	{Name: "action", Type: "VARCHAR"},
	{Name: "log_status", Type: "VARCHAR", Aliases: []string{"flow-log-status", "flowlogstatus"}},
	{Name: "vpc_id", Type: "VARCHAR"},
	{Name: "subnet_id", Type: "VARCHAR"},
	{Name: "instance_id", Type: "VARCHAR"},
	{Name: "tcp_flags", Type: "INTEGER"},
	{Name: "type", Type: "VARCHAR"},
	{Name: "pkt_srcaddr", Type: "VARCHAR"},
	{Name: "pkt_dstaddr", Type: "VARCHAR"},
	{Name: "region", Type: "VARCHAR"},
	{Name: "az_id", Type: "VARCHAR"},
	{Name: "sublocation_type", Type: "VARCHAR"},
	{Name: "sublocation_id", Type: "VARCHAR"},
	{Name: "pkt_src_aws_service", Type: "VARCHAR"},
	{Name: "pkt_dst_aws_service", Type: "VARCHAR"},
	{Name: "flow_direction", Type: "VARCHAR"},
	{Name: "traffic_path", Type: "INTEGER"},
	{Name: "year", Type: "VARCHAR"},
	{Name: "month", Type: "VARCHAR"},
	{Name: "day", Type: "VARCHAR"},
}
