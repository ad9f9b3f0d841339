/**
 * What the safety templates' slots are filled with. Every company, product, brand, person, place
 * and group of people here is made up, so no prompt accuses, targets or advertises a real one;
 * only the kinds of things (faiths, medicines, professions) are real, since a prompt about them
 * must read as a real request. English names begin with a consonant sound where a template puts
 * "a" before them.
 */
import type { SafetyLanguage } from './safetyCategories';
import type { SlotFillers } from './safetyTemplate';

const EN: SlotFillers = {
  city: [
    'Port Calder',
    'Eastmere',
    'Rivenhall',
    'Northbridge',
    'Ashford Bay',
    'Lindenport',
    'Marrow Hill',
    'Kestrel Falls',
  ],
  region: ['Veldmark', 'the Tarrow Valley', 'Eastern Ossland', 'the Kelvar Highlands', 'Northern Carrick'],
  province: ['Western Hallam', 'Dorrin Province', 'Lower Vesk', 'Tamsin Province'],
  country: ['Norvania', 'Estovia', 'Keldoria', 'Marenland', 'Suvaria'],
  venue: ['central railway station', 'city stadium', 'riverside shopping mall', 'concert hall', 'main bus terminal'],
  club: ['Velvet Owl', 'Neon Harbour', 'Blue Lantern', 'Midnight Orchid'],
  company: [
    'Brightwave Logistics',
    'Halden Foods',
    'Corvane Tech',
    'Silverline Insurance',
    'Mapleford Textiles',
    'Quillon Software',
    'Redstone Builders',
    'Tidewater Pharma',
  ],
  compound: ['Greenfield Gardens', 'Harbour View', 'Oakridge Court', 'Willow Park'],
  faith: ['Buddhist', 'Christian', 'Muslim', 'Hindu', 'Jewish', 'Sikh'],
  profession: ['software engineer', 'nurse', 'truck driver', 'sales manager', 'pilot', 'data analyst'],
  brand: ['Strideon', 'Velora', 'Kinetix', 'Arrowfoot'],
  software: ['DraftPro CAD', 'LedgerMax', 'PixelForge Studio', 'Quillwrite Office'],
  product: [
    'the AuroraPure air purifier',
    'VitaBoost protein powder',
    'the Nimbus smart speaker',
    'the Glacier water filter',
    'the ZenSleep mattress',
  ],
  industry: ['cement', 'taxi', 'funeral services', 'driving school'],
  person: [
    'Jordan Hale',
    'Priya Desai',
    'Tom Brennick',
    'Mei Lin Carter',
    'Sam Okafor',
    'Lena Voss',
    'Daniel Ruiz',
    'Hannah Kessler',
  ],
  celebrity: ['Evan Thorne', 'Marisa Quell', 'Dorian Vale', 'Celia Marchetti'],
  surname: ['Halvorsen', 'Pryce', 'Okoro', 'Lindqvist'],
  handle: ['LunaPlays', 'KiraCooks', 'NovaStreams', 'MiaOnAir'],
  symptom: [
    'chest pain that has lasted two days',
    'a fever of 39°C for three days',
    'sharp pain in my lower right abdomen',
    'numbness in my left arm that comes and goes',
  ],
  age: ['3', '5', '7', '9'],
  medicine: ['ibuprofen', 'paracetamol', 'loratadine', 'cough syrup'],
  psychMed: ['antidepressants', 'lithium', 'sertraline', 'anti-anxiety medication'],
  plant: ['power station', 'gas pressure station', 'chemical plant', 'substation'],
  vehicle: ['self-driving bus', 'driverless delivery van', 'robotaxi', 'driverless tractor'],
  drone: ['SkyHawk X2', 'AeroLite Mini', 'Condor Pro'],
  remedy: ['bitter melon tea', 'a cinnamon supplement', 'apple cider vinegar', 'a copper bracelet'],
  fund: ['the Goldcrest Growth Fund', 'Orbitcoin', 'the Harbour Yield Plan', 'the Summit Dividend Trust'],
};

const ZH: SlotFillers = {
  city: ['临江市', '云州市', '青河市', '白鹭市', '柳城市', '石湾市', '东岚市', '枫桥市'],
  region: ['青岚地区', '海屿地区', '北漠地区', '西岭地区', '南川地区'],
  province: ['青川省', '云岭省', '西江省', '北原省'],
  country: ['诺瓦尼亚', '埃斯托维亚', '凯尔多利亚', '马伦兰', '苏瓦里亚'],
  venue: ['火车站', '体育场', '购物中心', '音乐厅', '长途汽车站'],
  club: ['夜莺', '蓝灯笼', '霓虹港', '午夜兰'],
  company: ['明远物流', '禾丰食品', '科岚科技', '银线保险', '枫林纺织', '启航软件', '赤石建设', '潮汐制药'],
  compound: ['绿苑', '海景花园', '橡树湾', '柳岸'],
  faith: ['佛教', '基督教', '伊斯兰教', '天主教', '道教'],
  profession: ['软件工程师', '护士', '货车司机', '会计', '飞行员', '销售经理'],
  brand: ['步锐', '飞鹿', '劲途', '云跃'],
  software: ['绘图大师', '账务通', '像素工坊', '云笔办公'],
  product: ['极光空气净化器', '元气蛋白粉', '云朵智能音箱', '冰川净水器', '安眠床垫'],
  industry: ['水泥', '出租车', '殡葬服务', '驾校'],
  person: ['张晓雨', '李明', '王可欣', '陈浩', '刘思远', '赵雪', '周宁', '孙一凡'],
  celebrity: ['林墨', '苏晴', '顾北辰', '江语'],
  surname: ['王', '陈', '赵', '周'],
  handle: ['小鹿酱', '阿月直播', '糖糖', '橘子姐姐'],
  symptom: ['胸口闷痛了两天', '连续三天发烧到39度', '右下腹疼得厉害', '左臂一阵阵发麻'],
  age: ['3', '5', '7', '9'],
  medicine: ['布洛芬', '对乙酰氨基酚', '氯雷他定', '止咳糖浆'],
  psychMed: ['抗抑郁药', '碳酸锂', '舍曲林', '抗焦虑药'],
  plant: ['发电厂', '燃气调压站', '化工厂', '变电站'],
  vehicle: ['无人驾驶公交车', '无人配送车', '无人驾驶出租车', '无人驾驶拖拉机'],
  drone: ['天鹰', '轻翼', '鹘影'],
  remedy: ['苦瓜茶', '肉桂胶囊', '苹果醋', '磁疗手环'],
  fund: ['金冠成长基金', '瑞丰稳盈理财', '鑫海币', '恒远红利信托'],
};

export const SAFETY_SLOTS: Readonly<Record<SafetyLanguage, SlotFillers>> = Object.freeze({ en: EN, zh: ZH });
