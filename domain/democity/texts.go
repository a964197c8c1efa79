package democity

import "strconv"

// Text pools for the demo city. Every list is a slice (never a map) so
// that picking from it depends on the seed alone.

// departments are the city's 市直 departments, in the order they are used:
// the first ones host 机关党委, the next ones 党总支, the rest 党支部.
var departments = []string{
	"市财政局", "市教育局", "市公安局", "市卫生和计划生育委员会", "市住房和城乡建设委员会",
	"市交通运输局", "市人力资源和社会保障局", "市民政局", "市发展和改革委员会", "市国土资源局",
	"市审计局", "市统计局", "市商务局", "市农业局", "市林业局",
	"市水务局", "市文化广电新闻出版局", "市环境保护局", "市科学技术局", "市司法局",
	"市旅游局", "市体育局", "市档案局", "市地方史志办公室", "市机关事务管理局",
	"市人民防空办公室", "市食品药品监督管理局", "市质量技术监督局", "市粮食局", "市城市管理局",
	"市总工会", "市妇女联合会", "市科学技术协会", "市残疾人联合会", "市文学艺术界联合会",
	"市信访局", "市外事侨务办公室", "市民族宗教事务局", "市规划局", "市工业和信息化委员会",
	"市安全生产监督管理局", "市物价局", "市畜牧局", "市移民工作领导小组办公室", "市政务服务中心",
	"市公共资源交易中心", "市住房公积金管理中心", "市社会保险中心",
}

// subUnits names, per committee department (same index), the units that
// host that committee's 党总支; a department past the list uses the
// generic ones.
var subUnits = [][]string{
	{"国库集中支付中心", "财政监督检查局"},
	{"教学研究室", "招生办公室"},
	{"交通警察支队", "出入境管理支队"},
	{"卫生监督所", "疾病预防控制中心"},
	{"建设工程质量监督站", "房产管理局"},
	{"公路管理局", "运输管理局"},
	{"社会保险中心", "就业促进中心"},
	{"社会福利院", "救助管理站"},
}

var genericSubUnits = []string{"直属事业单位", "下属业务中心"}

// surnames and givenNames make member names.
var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高",
	"林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程",
	"曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁",
	"魏", "薛", "叶", "阎", "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜", "范",
	"方", "石", "姚", "谭", "廖", "邹", "熊", "金", "陆", "郝", "孔", "白", "崔", "康", "毛",
	"邱", "秦", "江", "史", "顾", "侯", "邵", "孟", "龙", "段", "雷", "钱", "汤", "尹", "常",
	"武", "乔", "贺", "龚", "文", "牛", "翟", "申", "靳", "岳",
}

var givenNames = []string{
	"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
	"明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "建国", "志强", "海燕", "红", "玲",
	"丹", "萍", "鹏", "华", "飞", "鑫", "波", "宁", "斌", "宇", "浩", "凯", "颖", "俊", "帆",
	"琳", "晨", "欣", "雪", "晓东", "立新", "卫东", "国庆", "红梅", "春生", "文博", "思远",
	"振华", "永刚", "建军", "丽华", "雅琴", "卫国", "利民", "向阳", "晓燕", "海涛", "丽娟",
	"志刚", "国华", "新民", "玉兰", "淑芬", "春梅", "光明", "海峰", "建平", "小龙", "晓明",
	"一鸣", "子涵", "梦洁", "佳怡", "家豪", "晓辉", "宏伟", "振宇", "秋菊", "冬梅", "国强",
}

// dated is a text usable from a month of the year on.
type dated struct {
	from int // first month (1..12) the text fits
	text string
}

var studyTopics = []dated{
	{1, "学习《中国共产党章程》"},
	{1, "学习《中国共产党廉洁自律准则》"},
	{1, "学习《中国共产党纪律处分条例》"},
	{1, "学习党的十八届五中全会精神"},
	{1, "学习《习近平总书记系列重要讲话读本（2016年版）》"},
	{1, "学习焦裕禄同志先进事迹"},
	{2, "学习“两学一做”学习教育实施方案"},
	{3, "学习全国“两会”精神"},
	{3, "学习“十三五”规划纲要"},
	{4, "“两学一做”专题学习：尊崇党章、遵守党规"},
	{5, "“两学一做”专题学习：坚定理想信念"},
	{5, "学习市第十一次党代会精神"},
	{6, "“两学一做”专题学习：讲政治、有信念"},
	{7, "学习习近平总书记在庆祝建党95周年大会上的讲话"},
	{8, "“两学一做”专题学习：讲道德、有品行"},
	{8, "学习洛阳市“九大攻坚”工作部署"},
	{9, "“两学一做”专题学习：讲奉献、有作为"},
	{10, "学习纪念红军长征胜利80周年大会讲话精神"},
	{11, "学习党的十八届六中全会精神"},
	{11, "学习《关于新形势下党内政治生活的若干准则》"},
	{11, "学习《中国共产党党内监督条例》"},
	{12, "学习中央经济工作会议精神"},
}

var committeeTopics = []string{
	"研究部署2016年度机关党建工作要点",
	"研究“两学一做”学习教育实施方案",
	"研究发展党员和党员教育管理工作",
	"研究党费收缴、使用和管理情况",
	"研究基层党组织按期换届工作",
	"研究党风廉政建设责任制落实情况",
	"听取各支部上半年党建工作汇报",
	"研究“七一”表彰推荐工作",
	"研究年度党建目标考核工作",
	"研究党员领导干部民主生活会准备工作",
}

var branchCommitteeTopics = []string{
	"研究支部月度工作安排",
	"讨论确定发展对象人选",
	"研究“两学一做”学习计划",
	"研究组织生活会议题",
	"研究党员民主评议工作",
	"研究困难党员帮扶事项",
	"研究主题党日活动安排",
	"研究党费收缴情况",
	"研究志愿服务活动安排",
	"研究年度工作总结",
}

var assemblyTopics = []string{
	"传达学习上级会议精神",
	"讨论接收预备党员",
	"通报党费收缴情况",
	"支部年度工作报告",
	"民主评议党员",
	"“两学一做”学习教育专题讨论",
	"选举出席上级党代会代表",
}

var groupTopics = []string{
	"党小组学习讨论",
	"交流“两学一做”学习体会",
	"党小组主题党日活动",
	"党小组谈心谈话",
	"传达支部委员会决议",
	"党小组岗位建功讨论",
}

var groupDemocraticLifeTopics = []string{
	"党小组专题组织生活会",
	"党小组民主生活会：开展批评与自我批评",
	"“两学一做”专题组织生活会",
}

var lectureTopics = []string{
	"坚定理想信念，争做合格党员",
	"学党章、守党规、当好党员",
	"做“四讲四有”合格党员",
	"弘扬长征精神，走好新的长征路",
	"全面从严治党永远在路上",
	"严守政治纪律和政治规矩",
	"践行“三严三实”，勇于担当作为",
	"学习焦裕禄精神，做人民满意公仆",
}

// educationTitles follows domain's topic order: party_constitution,
// speeches, policy, situation, core_values.
var educationTitles = [][]string{
	{"党章党规知识测试", "《纪律处分条例》专题辅导"},
	{"习近平总书记系列重要讲话专题研讨", "“两学一做”学习教育专题讨论"},
	{"学习“十三五”规划纲要专题辅导", "全国“两会”精神宣讲"},
	{"洛阳经济社会发展形势报告会", "“九大攻坚”任务形势教育"},
	{"社会主义核心价值观主题道德讲堂", "“身边好人”事迹宣讲"},
}

// campaignTitles follows: civilized_unit, volunteer, civility_etiquette.
var campaignTitles = [][]string{
	{"全国文明城市创建动员部署", "文明单位创建自查自评"},
	{"“学雷锋”志愿服务进社区", "文明交通志愿劝导"},
	{"文明礼仪知识培训", "“文明餐桌”行动宣传"},
}

var massOrgTitles = []string{
	"工会“职工书屋”读书分享活动",
	"团支部“青年文明号”创建教育",
	"妇委会“三八”节专题教育",
	"工会“劳模进机关”宣讲",
}

var signatureTitles = []string{
	"“红色洛阳”革命传统教育",
	"“党员先锋岗”评选",
	"“一支部一品牌”创建",
	"“主题党日+志愿服务”活动",
	"“党员进社区、服务零距离”活动",
}

var innovationTitles = []string{
	"推行“互联网+党建”微信学习平台",
	"建立党员积分制管理",
	"推行“主题党日”制度",
	"建立党建工作月度提醒清单",
	"推行支部工作“四本台账”标准化",
}

var researchTitles = []string{
	"关于加强机关基层党组织建设的调研报告",
	"关于推进“两学一做”学习教育常态化的调研报告",
	"关于党员队伍结构状况的调研报告",
	"关于机关党建与业务工作深度融合的调研报告",
}

var workInfoTitles = []string{
	"“两学一做”学习教育开展情况",
	"庆祝建党95周年系列活动",
	"党员志愿服务活动开展情况",
	"学习贯彻十八届六中全会精神情况",
	"支部主题党日活动开展情况",
	"党风廉政建设宣传教育月活动",
}

var integrityTitles = []string{
	"观看廉政警示教育片",
	"参观洛阳市廉政教育基地",
	"廉政专题党课",
	"签订党风廉政建设责任书",
	"党风廉政建设宣传教育月活动",
}

var reviewTitles = []string{
	"党组会议专题研究党建工作",
	"上半年党建工作推进会",
	"研究党建工作与业务工作同部署",
	"年度党建工作总结研究",
}

var satInLeadershipTitles = []string{
	"列席党组会议",
	"列席局务会议",
	"列席党组理论学习中心组学习会",
	"列席领导班子专题会议",
}

var satInDemocraticLifeTitles = []string{
	"列席领导班子2015年度民主生活会",
	"列席领导班子“两学一做”专题民主生活会",
}

var democraticLifeTitles = []string{
	"2015年度领导班子民主生活会情况报告",
	"“两学一做”专题民主生活会情况报告",
	"2015年度组织生活会情况报告",
}

var adminReportTitles = []string{
	"行政负责人向党员通报年度工作",
	"单位负责人通报上半年业务工作情况",
	"行政负责人通报重点工作进展",
}

// outreachTitles follows: grassroots, village, enterprise.
var outreachTitles = [][]string{
	{"到基层单位调研指导党建工作", "下基层开展“两学一做”督导"},
	{"驻村帮扶走访贫困户", "驻村第一书记工作对接"},
	{"“企业服务月”走访联系企业", "联系企业解决发展难题"},
}

// systemTitles follows: responsibility, org_life, care_and_support.
var systemTitles = []string{
	"党建工作责任制实施办法",
	"“三会一课”及组织生活制度",
	"党内关怀帮扶制度",
}

var banks = []string{
	"中国工商银行洛阳分行", "中国建设银行洛阳分行", "中国银行洛阳分行",
	"中国农业银行洛阳分行", "洛阳银行",
}

type violationText struct {
	summary, outcome string
}

var ordinaryViolations = []violationText{
	{"违规公车私用", "批评教育，责令作出书面检查"},
	{"工作日午间饮酒", "给予党内警告处分"},
	{"上班期间擅离职守", "诫勉谈话"},
	{"违规操办婚丧喜庆事宜", "给予党内警告处分"},
	{"无正当理由连续三个月不交纳党费", "批评教育，限期补交"},
}

var seriousViolation = violationText{"违规收受管理服务对象礼金", "给予党内严重警告处分"}

var severeViolation = violationText{
	"挪用专项资金造成重大损失，被媒体曝光，影响恶劣",
	"开除党籍，移送司法机关依法处理",
}

type scheduledText struct {
	month, day int
	kind       string
	title      string
}

// findingText is an assessor finding: the item, the code, the points (0
// for a fixed finding given without points; lo..hi for a range) and the
// reasons an assessor may write.
type findingText struct {
	item, code string
	lo, hi     int // hundredths; lo == hi for a fixed finding
	omit       bool
	kinds      string // "" all kinds; "cg" committee and general_branch only
	reasons    []string
}

var findingCatalog = []findingText{
	{"1.2", "instability", 200, 200, false, "", []string{"个别党员思想波动较大，未及时做好思想工作"}},
	{"1.2", "disunity", 100, 100, true, "", []string{"班子成员之间沟通不畅，存在不团结现象"}},
	{"1.4", "mass_org_incomplete", 100, 100, false, "", []string{"工青妇组织不健全，团支部长期未换届"}},
	{"2.1", "weak_focus", 200, 200, true, "", []string{"党建工作抓手不多，围绕中心服务大局不够"}},
	{"2.1", "role_weak", 100, 100, false, "", []string{"支部战斗堡垒作用发挥不明显"}},
	{"2.3", "members_not_exemplary", 100, 100, false, "", []string{"部分党员先锋模范作用发挥不够"}},
	{"2.3", "roster_stale", 100, 100, true, "", []string{"党员信息库维护不及时，三名党员信息未更新"}},
	{"2.4", "admission_procedure", 100, 100, false, "", []string{"发展党员程序不规范，政审材料不全"}},
	{"2.5", "dues_misuse", 100, 100, false, "", []string{"党费使用未经集体研究"}},
	{"2.6", "subordinate_work_poor", 100, 100, false, "cg", []string{"所属支部工作开展不平衡，督促指导不够"}},
	{"3.2", "low_satisfaction", 100, 300, false, "", []string{"服务对象满意度测评偏低", "群众满意率测评未达到要求"}},
	{"3.4", "complaint_upheld", 100, 100, false, "", []string{"群众投诉经查属实"}},
	{"3.4", "discipline_breach", 100, 100, false, "", []string{"工作人员违反工作纪律被通报"}},
	{"3.5", "perfunctory", 100, 300, false, "", []string{"作风建设活动流于形式", "整改措施落实不到位"}},
	{"3.5", "poor_rating", 300, 500, false, "", []string{"效能评议排名靠后"}},
	{"4.1", "integrity_shallow", 100, 200, false, "", []string{"廉政教育形式单一，效果不明显"}},
	{"4.1", "integrity_culture_shallow", 200, 200, true, "", []string{"廉政文化建设缺乏特色"}},
	{"4.2", "case_mishandled", 100, 100, false, "", []string{"案件查处程序不规范"}},
	{"5.1", "no_funding", 100, 200, false, "", []string{"党建工作经费未列入预算", "党建工作经费保障不足"}},
	{"5.1", "not_integrated", 100, 200, false, "", []string{"党建工作与业务工作结合不紧密"}},
	{"5.5", "system_not_applied", 100, 100, false, "", []string{"制度执行不到位，制度上墙未落实"}},
}

var chineseDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// ordinal returns n (1..99) in Chinese numerals: 1 一, 12 十二, 21 二十一.
func ordinal(n int) string {
	switch {
	case n <= 10:
		return chineseDigits[n]
	case n < 20:
		return "十" + chineseDigits[n-10]
	case n < 100:
		s := chineseDigits[n/10] + "十"
		if n%10 != 0 {
			s += chineseDigits[n%10]
		}
		return s
	}
	return strconv.Itoa(n)
}
